"""Which of `training` and `mask` a layer's `call` takes: read from its signature once per `call` function.

Keras passes `training` / `mask` to `call` only when its signature names them (or takes `**kwargs`), so
`def call(self, inputs)` works in fit, predict and symbolic building alike. `training` not passed
explicitly is filled in from the active call context (True inside fit's train step, False in evaluate /
predict), as Keras does; with no active context the signature's own default stands.
"""

import inspect

from mlfront.backend import context as _context

_cache = {}  # call function -> CallSignature


class CallSignature:
    """What a `call` function accepts.

    Attributes:
        takes_training / takes_mask: the argument reaches `call` (named, or through `**kwargs`).
        training_position / mask_position: the index among the positional arguments after `inputs` at which
            the argument may also be given positionally (None: keyword only or not named).
    """

    __slots__ = ("takes_training", "takes_mask", "training_position", "mask_position")

    def __init__(self, fn):
        parameters = list(inspect.signature(fn).parameters.values())
        if parameters and parameters[0].name == "self":
            parameters = parameters[1:]  # a function read from the class
        var_keyword = any(p.kind is p.VAR_KEYWORD for p in parameters)
        positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = {p.name for p in parameters}
        self.takes_training = "training" in names or var_keyword
        self.takes_mask = "mask" in names or var_keyword
        # position 0 is `inputs`; the rest follow it in `layer(inputs, *args)`
        self.training_position = positional.index("training") - 1 if "training" in positional else None
        self.mask_position = positional.index("mask") - 1 if "mask" in positional else None


def call_signature(layer):
    """The `CallSignature` of `layer.call` (cached per function, so a redefined `call` is read again)."""
    fn = type(layer).call
    found = _cache.get(fn)
    if found is None:
        found = _cache[fn] = CallSignature(fn)
    return found


def _context_training():
    """The training flag of the active call context, or None outside any (the idle frame, `(False, None)`,
    is what `current()` reports with no context, also after one has ended)."""
    frame = _context.current()
    return None if frame == (False, None) else frame[0]


def call_arguments(signature, args, kwargs):
    """Adjust `kwargs` (in place) to what a call with `signature` takes; returns the explicit training flag.

    `training` / `mask` the call does not take are dropped (Keras drops them too); `training` not given
    (or None) is taken from the active call context when the call takes it. The returned flag (None when not
    given) is what nested layer calls should see as their context.
    """
    position = signature.training_position
    if position is not None and len(args) > position:
        training = args[position]
    else:
        training = kwargs.get("training")
        if not signature.takes_training:
            kwargs.pop("training", None)
        elif training is None:
            context = _context_training()
            if context is not None:
                kwargs["training"] = context
            else:
                kwargs.pop("training", None)  # the signature's default stands
    if not signature.takes_mask:
        kwargs.pop("mask", None)
    return None if training is None else bool(training)
