"""`Layer`, the base class of every layer and model."""

import math
import numbers
import threading

import numpy as np

from mlfront import backend as _backend
from mlfront import initializers as _initializers
from mlfront import mixed_precision as _mixed_precision
from mlfront import regularizers as _regularizers
from mlfront.backend import config as _config
from mlfront.backend import context as _context
from mlfront.layers import call_signature as _call_signature
from mlfront.layers import graph as _graph
from mlfront.random import KeyStream
from mlfront.saving.serialization import function_config, serialize_keras_object
from mlfront.utils.naming import snake_case
from mlfront.variables import Variable, bind, values_of

_name_counts = {}
_added_metric_version = [0]  # bumped when add_metric creates a metric, so models re-collect their metrics


class _CallState(threading.local):
    """Per thread: how deep the current layer call is, which layers hold losses from `add_loss` since the
    outermost call began, and the (metric, value) pairs `add_metric` gave (all cleared when the next outermost
    call begins, as in Keras)."""
    depth = 0

    def __init__(self):
        self.layers_with_losses = []
        self.metric_values = []


_calls = _CallState()
# what a layer's inputs may be besides one backend array: NumPy (converted), containers, symbolic tensors
_CONTAINER_TYPES = (np.ndarray, list, tuple, dict, _graph.SymbolicTensor)


def unique_name(base):
    """`base`, then `base_1`, `base_2`, ... on later calls (Keras's automatic layer names)."""
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def resolve_training(training):
    """The `training` flag a layer should use: the explicit argument, else the active call context."""
    return _context.current()[0] if training is None else bool(training)


def next_key(layer=None):
    """A fresh random key for a random layer: from the active key stream (the training step's, so the compiled
    step stays pure); outside a step, from the layer's own stream seeded by its `seed` (so standalone calls are
    reproducible, as in Keras), or from a new stream when it has none. Inside `fit`, the global seed
    (`mlfront.utils.set_random_seed`) makes the masks reproducible."""
    stream = _context.current()[1]
    seed = getattr(layer, "seed", None)
    if stream is not None or seed is None:
        return (stream or KeyStream()).next()
    B = _backend.get()
    own = getattr(layer, "_seeded_key", None)
    key, sub = B.rng_split(B.rng_key(int(seed)) if own is None else own, 2)
    # The seeded stream advances only on concrete keys: traced without a step's stream (mlfront.jit with no
    # seed), the layer bakes in a fixed key rather than keep a traced one.
    if _concrete(key):
        layer._seeded_key = key
    return sub


def _concrete(key):
    """Whether a random key is known now (not a value traced inside a compiled function)."""
    if isinstance(key, (int, np.integer)):  # torch's keys are plain ints
        return True
    try:
        _backend.get().to_numpy(key)
        return True
    except (TypeError, NotImplementedError, AttributeError):  # a jax tracer / a symbolic tf.Tensor
        return False


def is_int(value):
    """True for an int, NumPy integers included (Keras 2 scripts compute sizes with NumPy), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def positive_int(value, name, owner):
    """`value` as a Python int > 0; a clear error naming `owner`'s argument `name` otherwise."""
    if not is_int(value) or value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive integer, got {value!r}.")
    return int(value)


def check_seed(seed, owner):
    """`seed` as an int (or None), as Keras's random layers take it."""
    if seed is not None and not is_int(seed):
        raise ValueError(f"{owner}: `seed` must be an int or None, got {seed!r}.")
    return None if seed is None else int(seed)


class _graph_attribute:
    """A read-only attribute computed from a layer's inbound nodes (`layer.output`, ...).

    Unlike `property`, an instance attribute of the same name wins, so a layer may still set `self.output`.
    """

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, layer, owner=None):
        return self if layer is None else self.fn(layer)


def _dtype_policy(dtype, layer_class):
    """The `DTypePolicy` of a layer's `dtype` argument: a policy, a policy or dtype name ("mixed_float16",
    "float32"), None (the global policy), or the dtype-policy dict of a Keras config (Keras 3's `DTypePolicy`,
    Keras 2's `Policy`)."""
    return _mixed_precision.get(dtype, layer_class)


def _cast_floats(B, structure, dtype):
    """The float arrays of `structure` (also inside lists / tuples / dicts) cast to `dtype` where they differ and
    one of the two is a 16-bit float (a mixed-precision layer's inputs; ints, bools and float64 stay)."""
    if isinstance(structure, dict):
        return {k: _cast_floats(B, v, dtype) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_cast_floats(B, v, dtype) for v in structure)
    if B.is_array(structure):
        current = B.dtype(structure)
        if current != dtype and current.startswith(("float", "bfloat")) and (
                _mixed_precision.is_low_precision(dtype) or _mixed_precision.is_low_precision(current)):
            return B.cast(structure, dtype)
    return structure


def added_losses():
    """The losses layers added with `add_loss` since the outermost layer call on this thread began."""
    return [loss for layer in _calls.layers_with_losses for loss in layer._losses]


def added_metric_values():
    """The (metric, value) pairs `add_metric` gave since the outermost layer call on this thread began."""
    return list(_calls.metric_values)


def clear_added_losses():
    """Forget the losses and metric values of the last outermost call (also after a traced step, whose values
    must not leak)."""
    for layer in _calls.layers_with_losses:
        layer._losses = []
    _calls.layers_with_losses = []
    _calls.metric_values = []


class Layer:
    """Base class of layers: owns Variables, builds them on first call, computes `call`.

    Subclasses create weights in `build(input_shape)` with `add_weight`, and compute in
    `call(inputs, training=None)` using `mlfront.ops`.

    Args:
        name: the layer's name (automatic when None: "dense", "dense_1", ...).
        trainable: whether the layer's weights are trained.
        activity_regularizer: a regularizer of the layer's outputs; its penalty, divided by the batch size,
            is added to the loss (through `add_loss`), as in Keras.
        weights: Keras 2: the layer's initial weights (as `get_weights` lists them), set once it is built.
        dtype: the dtype policy: a dtype name ("float32"), a mixed-precision policy name ("mixed_float16",
            "mixed_bfloat16") or a `mlfront.mixed_precision.DTypePolicy`; None is the global policy
            (`mlfront.mixed_precision.set_global_policy`). Under a mixed policy the variables are float32, while
            float inputs, the variables read during `call` and the outputs are in the compute dtype.
        input_shape / input_dim / batch_input_shape: on a model's first layer, the input shape (without the
            batch dimension for `input_shape`).
    """

    _reads_indices = False  # True for layers whose inputs are integer indices (Embedding): not cast to float
    activity_regularizer = None  # class defaults: __call__ reads them without a failed attribute lookup
    _autocasts_inputs = True

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 batch_input_shape=None, batch_size=None, activity_regularizer=None, weights=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}.")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = trainable
        self._dtype_policy = _dtype_policy(dtype, type(self).__name__)
        # Models leave their inputs as they are (each layer casts its own), as Keras's Functional models do.
        self._autocasts_inputs = not hasattr(self, "train_step")
        self.built = False
        self._variables = []
        self._regularized = []
        self._losses = []  # from add_loss during the current outermost call
        self._input_free_losses = []  # zero-argument callables given to add_loss (Keras 2), read at each step
        self._added_metrics = {}  # name -> Mean, from Keras 2's add_metric
        self._initial_weights = None if weights is None else [np.asarray(w) for w in weights]
        if activity_regularizer is not None:  # its penalty on the outputs joins the loss (see __call__)
            self.activity_regularizer = _regularizers.get(activity_regularizer)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
            batch_size = tuple(batch_input_shape)[0]
        elif input_dim is not None:
            input_shape = (input_dim,)
        self._declared_input_shape = None if input_shape is None else (batch_size,) + tuple(_as_tuple(input_shape))
        self._call_signature = _call_signature.call_signature(self)
        self._call_takes_training = self._call_signature.takes_training
        self._call_takes_mask = self._call_signature.takes_mask
        self.supports_masking = getattr(self, "supports_masking", False)
        self._inbound_nodes = []

    # ------------------------------------------------------------------ dtype policy
    @property
    def dtype_policy(self):
        """The layer's `mlfront.mixed_precision.DTypePolicy` (settable with a policy or a name)."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        self._dtype_policy = _dtype_policy(value, type(self).__name__)

    @property
    def dtype(self):
        """The dtype of the layer's variables (the policy's `variable_dtype`), as in Keras 3."""
        return self._dtype_policy.variable_dtype

    @dtype.setter
    def dtype(self, value):
        self._dtype_policy = _dtype_policy(value, type(self).__name__)

    @property
    def variable_dtype(self):
        """The dtype the layer's variables are stored in."""
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        """The dtype of the layer's computation and outputs (float16 / bfloat16 under a mixed policy)."""
        return self._dtype_policy.compute_dtype

    # ------------------------------------------------------------------ weights
    def add_weight(self, name=None, shape=(), initializer="glorot_uniform", regularizer=None, trainable=True,
                   dtype=None, constraint=None, autocast=True, aggregation=None):
        """Create, track and return a Variable of this layer (named `<layer>/<name>`).

        `dtype` defaults to the policy's variable dtype. With `autocast` (the default) a float variable is read
        in the compute dtype during the layer's call under a mixed policy; `autocast=False` keeps it in its own
        dtype (e.g. BatchNormalization's statistics). `aggregation` says how the replicas of a distributed step
        combine the variable (see `mlfront.distribution.replicas`); None: "none" for a trainable variable
        (identical on every replica), "mean" for a non-trainable one (state a layer updates in its call)."""
        name = name or f"variable_{len(self._variables)}"
        dtype = dtype or self.variable_dtype
        value = _initializers.get(initializer)(tuple(int(d) for d in shape), dtype=dtype)
        if aggregation is None:
            aggregation = "none" if trainable else "mean"
        variable = Variable(value, trainable=trainable, name=name, dtype=dtype, path=f"{self.name}/{name}",
                            aggregation=aggregation)
        if not autocast:
            variable.autocast = False
        if constraint is not None:  # applied by the optimizer after every update
            from mlfront import constraints as _constraints
            variable.constraint = _constraints.get(constraint)
        self._variables.append(variable)
        if regularizer is not None:
            self._regularized.append((variable, _regularizers.get(regularizer)))
        return variable

    def _sublayers(self):
        """Layers held as attributes (directly, or in lists/tuples/dicts), in assignment order."""
        found = []
        for value in self.__dict__.values():
            items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else (value,)
            found.extend(item for item in items if isinstance(item, Layer) and item is not self)
        return list(dict.fromkeys(found))

    @property
    def layers(self):
        return self._sublayers()

    def _all_variables(self):
        variables = list(self._variables)
        for layer in self._sublayers():
            variables.extend(v for v in layer._all_variables() if all(v is not w for w in variables))
        return variables

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._sublayers():
            layer.trainable = value

    @property
    def weights(self):
        """All variables: trainable first, then non-trainable (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def variables(self):
        return self._all_variables()

    @property
    def trainable_weights(self):
        return [v for layer, v in self._owned_variables() if v.trainable and layer.trainable]

    @property
    def non_trainable_weights(self):
        return [v for layer, v in self._owned_variables() if not (v.trainable and layer.trainable)]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def _owned_variables(self):
        pairs = [(self, v) for v in self._variables]
        seen = {id(v) for v in self._variables}
        for layer in self._sublayers():
            for owner, v in layer._owned_variables():
                if id(v) not in seen:
                    seen.add(id(v))
                    pairs.append((owner if self.trainable else self, v))
        return pairs

    def regularized_variables(self):
        """(variable, regularizer) pairs of this layer and its sublayers; a layer shared by several sublayers
        counts once."""
        pairs = list(self._regularized)
        seen = {id(v) for v, _ in pairs}
        for layer in self._sublayers():
            for variable, regularizer in layer.regularized_variables():
                if id(variable) not in seen:
                    seen.add(id(variable))
                    pairs.append((variable, regularizer))
        return pairs

    def regularization_losses(self):
        """Regularization penalties of this layer and its sublayers (backend scalars)."""
        return [reg(var.value) for var, reg in self.regularized_variables()]

    # ------------------------------------------------------------------ losses and metrics added in call()
    def add_loss(self, loss):
        """Add a scalar loss term (a tensor computed in `call`, e.g. `self.add_loss(1e-3 * ops.sum(x))`) to the
        training loss; several values and non-scalars are summed. As in Keras 2, a zero-argument callable
        (`lambda: ops.sum(layer.kernel)`) is an input-independent loss, evaluated at every step."""
        if callable(loss) and not _backend.get().is_array(loss):
            self._input_free_losses.append(loss)
            return
        values = loss if isinstance(loss, (list, tuple)) else [loss]
        for value in values:
            self._losses.append(self._loss_array(value))
        if values and all(layer is not self for layer in _calls.layers_with_losses):
            _calls.layers_with_losses.append(self)

    def _loss_array(self, value):
        B = _backend.get()
        if B.is_array(value):
            return value
        if isinstance(value, (int, float, np.number, np.ndarray)) and np.asarray(value).dtype.kind in "fiu":
            return B.convert(np.asarray(value, dtype="float32"))
        if isinstance(value, _graph.SymbolicTensor):
            raise ValueError(f"Layer '{self.name}': add_loss got a symbolic tensor {value!r}; a symbolic loss is "
                             f"added to the Functional model that computes it (`model.add_loss(...)`), or add "
                             f"the loss inside a layer's call().")
        raise ValueError(f"Layer '{self.name}': add_loss expects a tensor (or a zero-argument function returning "
                         f"one), got {type(value).__name__} {value!r}.")

    @property
    def losses(self):
        """The losses of this layer and its sublayers: those from `add_loss` in the last call, then the
        weight regularization penalties, as in Keras."""
        layers = [self] + nested_layers(self)
        added = [loss for layer in layers for loss in layer._losses]
        free = [fn() for layer in layers for fn in layer._input_free_losses]
        return added + free + self.regularization_losses()

    def add_metric(self, value, name=None, aggregation="mean"):
        """Keras 2: report the mean of `value` (a tensor computed in `call`) as the metric `name` in the logs
        of fit / evaluate; it is reset at each epoch like the compiled metrics. The training step updates the
        metric after the forward pass (outside the gradient computation)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"Layer '{self.name}': add_metric needs a metric name (`name='...'`), got {name!r}.")
        if aggregation not in ("mean", None):
            raise ValueError(f"Layer '{self.name}': add_metric supports aggregation='mean' (the mean over the "
                             f"epoch, as Keras's default), got aggregation={aggregation!r}.")
        metric = self._added_metrics.get(name)
        if metric is None:
            from mlfront.metrics import Mean
            metric = self._added_metrics[name] = Mean(name=name)
            _added_metric_version[0] += 1
        _calls.metric_values.append((metric, self._loss_array(value)))

    def _layer_metrics(self):
        """The metrics created by `add_metric` in this layer and its sublayers."""
        return [m for layer in [self] + nested_layers(self) for m in layer._added_metrics.values()]

    def get_weights(self):
        """The weights as a list of NumPy arrays, in the order of `weights`."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        """Set the weights from a list of arrays, in the order of `weights`; shapes must match."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"Layer '{self.name}': set_weights expected a list of {len(own)} arrays "
                             f"(shapes {[v.shape for v in own]}), got {len(weights)}.")
        for variable, value in zip(own, weights):
            value = np.asarray(value)
            if tuple(value.shape) != variable.shape:
                raise ValueError(f"Layer '{self.name}': weight '{variable.path}' has shape {variable.shape}, "
                                 f"got an array of shape {tuple(value.shape)}.")
            variable.assign(value.astype(variable.dtype))

    def count_params(self):
        return int(sum(math.prod(v.shape) for v in self.weights))

    # ------------------------------------------------------------------ building and calling
    def build(self, input_shape):
        """Create the layer's weights for inputs of `input_shape` (batch dimension first, may be None)."""
        self.built = True

    def call(self, inputs):
        raise NotImplementedError(f"Layer {type(self).__name__} must implement call().")

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self.built = True
            if self._initial_weights is not None:
                weights, self._initial_weights = self._initial_weights, None
                self.set_weights(weights)

    def __call__(self, inputs, *args, **kwargs):
        # Kept lean: it runs once per layer in every eager step and every single-sample predict.
        if isinstance(inputs, _CONTAINER_TYPES):
            if _graph.is_symbolic(inputs):
                return _graph.call_symbolic(self, inputs, args, kwargs)
            inputs = _convert_numpy(inputs)
        if not self.built:
            self._maybe_build(_shape_of(inputs))
        signature = self._call_signature
        training = _call_signature.call_arguments(signature, args, kwargs) if args or kwargs \
            or signature.takes_training or signature.takes_mask else None
        calls = _calls
        if not calls.depth and (calls.layers_with_losses or calls.metric_values):
            clear_added_losses()  # a new outermost call: the losses of the last one are gone, as in Keras
        casts = None
        if _mixed_precision._low_precision_used[0]:  # no policy so far computes in 16 bits: nothing to cast
            compute = self._dtype_policy.compute_dtype
            if compute.startswith(("float", "bfloat")):
                B = _backend.get()
                if self._autocasts_inputs:
                    inputs, args, kwargs = (_cast_floats(B, inputs, compute), _cast_floats(B, args, compute),
                                            _cast_floats(B, kwargs, compute))
                casts = self._autocast_variables(B, compute)
        calls.depth += 1
        try:
            if training is None or training == _context.current()[0]:
                outputs = self.call(inputs, *args, **kwargs)
            else:
                with _context.call_context(training):  # nested layers called without `training` see it
                    outputs = self.call(inputs, *args, **kwargs)
        finally:
            calls.depth -= 1
            if casts is not None:
                self._restore_autocast_variables(B, casts)
        if casts is not None and self._dtype_policy.is_mixed and self._autocasts_inputs:
            outputs = _cast_floats(B, outputs, compute)  # e.g. a float32 constant promoted the result
        if self.activity_regularizer is not None:
            self._add_activity_losses(outputs)
        return outputs

    def _autocast_variables(self, B, compute):
        """Make this layer's float variables hold their values cast to `compute` for the call (Keras's
        AutocastVariable, done by binding: the cast is part of the traced / differentiated computation, so the
        gradients reach the float32 values). Returns what `_restore_autocast_variables` needs."""
        casts = []
        for variable in self._variables:
            if not getattr(variable, "autocast", True):
                continue
            value = values_of([variable])[0]
            dtype = B.dtype(value)
            if dtype != compute and dtype.startswith(("float", "bfloat")):
                cast = B.cast(value, compute)
                bind([variable], [cast])
                casts.append((variable, value, cast, dtype))
        return casts

    @staticmethod
    def _restore_autocast_variables(B, casts):
        """Give the variables their own values back; one the call assigned keeps the new value, in its dtype."""
        for variable, value, cast, dtype in casts:
            current = values_of([variable])[0]
            if current is cast:
                bind([variable], [value])
            elif B.dtype(current) != dtype:
                bind([variable], [B.cast(current, dtype)])

    def _add_activity_losses(self, outputs):
        """The activity regularizer's penalty of each output, divided by the batch size (Keras 2 and 3)."""
        B = _backend.get()
        regularizer = _regularizers.get(self.activity_regularizer)
        for output in _flatten_arrays(outputs):
            penalty = regularizer(output)
            shape = B.shape(output)
            if not shape:
                self.add_loss(penalty)
            elif shape[0] is not None:
                self.add_loss(penalty / float(max(shape[0], 1)))
            else:  # a batch size unknown while tracing: counted from the values
                per_sample = float(math.prod(shape[1:]))
                self.add_loss(penalty * per_sample / B.maximum(B.sum(B.ones_like(output)), per_sample))

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape`; by default found by running `call` on zeros.

        Unknown (None) dimensions are probed with two sizes; a dimension that follows them stays None.
        """
        B = _backend.get()
        probes = []
        for size in (2, 3):
            def zeros(shape):
                return B.zeros(tuple(size if d is None else d for d in shape), self.dtype)
            x = [zeros(s) for s in input_shape] if _is_shape_list(input_shape) else zeros(input_shape)
            with _context.call_context(False):
                self._maybe_build(input_shape)
                probes.append(self.call(x))
        return _merge_probe_shapes(B, probes[0], probes[1])

    def _symbolic_output_shape(self, inputs, args, kwargs):
        """The output shape of a symbolic call with tensors among its other arguments too (`call(self, a, b)`):
        `compute_output_shape(a_shape, b_shape, ...)` when the layer defines it, else `call` run on zeros."""
        tensors = [a for a in args if isinstance(a, _graph.SymbolicTensor)]
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            return self.compute_output_shape(_graph.map_structure(lambda t: t.shape, inputs),
                                             *[t.shape for t in tensors])
        B = _backend.get()
        probes = []
        for size in (2, 3):
            def zeros(t):
                if not isinstance(t, _graph.SymbolicTensor):
                    return t
                return B.zeros(tuple(size if d is None else d for d in t.shape), t.dtype)
            x, call_args = _graph.map_structure(zeros, inputs), _graph.map_structure(zeros, list(args))
            call_kwargs = dict(_graph.map_structure(zeros, dict(kwargs)))
            _call_signature.call_arguments(self._call_signature, call_args, call_kwargs)
            with _context.call_context(False):
                probes.append(self.call(x, *call_args, **call_kwargs))
        return _merge_probe_shapes(B, probes[0], probes[1])

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs: the input mask when the layer supports masking, else None."""
        return mask if self.supports_masking else None

    # ------------------------------------------------------------------ the symbolic graph (Functional API)
    def _node_values(self, attribute):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input, so it has no "
                                 f"defined {attribute}.")
        if attribute.startswith("output"):
            return [node.outputs for node in self._inbound_nodes]
        # An InputLayer's node has no inputs: its input is its output, as in Keras.
        return [node.inputs if node.input_tensors else node.outputs for node in self._inbound_nodes]

    def _node_shape(self, attribute):
        if not self._inbound_nodes and attribute == "input_shape" and self._declared_input_shape is not None:
            return self._declared_input_shape
        shapes = [_graph.map_structure(lambda t: t.shape, v) for v in self._node_values(attribute)]
        if any(shape != shapes[0] for shape in shapes):
            raise AttributeError(f"Layer '{self.name}' was called {len(shapes)} times on inputs of different "
                                 f"shapes, so its {attribute} is ambiguous: {shapes}.")
        return shapes[0]

    @_graph_attribute
    def input(self):
        """The symbolic input(s) of the layer's first call (Functional API)."""
        return self._node_values("input")[0]

    @_graph_attribute
    def output(self):
        """The symbolic output(s) of the layer's first call, e.g. for `Model(model.input, layer.output)`."""
        return self._node_values("output")[0]

    @_graph_attribute
    def input_shape(self):
        """The input shape(s) of the layer's symbolic calls (an error when they differ)."""
        return self._node_shape("input_shape")

    @_graph_attribute
    def output_shape(self):
        """The output shape(s) of the layer's symbolic calls (an error when they differ)."""
        return self._node_shape("output_shape")

    # ------------------------------------------------------------------ stateless API (custom training loops)
    def stateless_call(self, trainable_variables, non_trainable_variables, *args, seed=None, **kwargs):
        """The layer's outputs computed with the given weight values, without changing its Variables.

        Args:
            trainable_variables: arrays, one per `self.trainable_variables` (same order).
            non_trainable_variables: arrays, one per `self.non_trainable_variables`.
            *args, **kwargs: the call's inputs and arguments (e.g. `x, training=True`).
            seed: optional random key for random layers (Dropout): an int, or a key from
                `mlfront.random.key(n)` (pass a new key each step to a jit-compiled step).

        Returns:
            `(outputs, non_trainable_variables)`: the new non-trainable values (e.g. BatchNorm statistics).
        """
        from mlfront.training import stateless
        return stateless.stateless_call(self, trainable_variables, non_trainable_variables, *args, seed=seed,
                                        **kwargs)

    # ------------------------------------------------------------------ configuration
    def get_config(self):
        """The constructor arguments that recreate this layer (without its weights)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_policy.name}
        if getattr(self, "activity_regularizer", None) is not None:
            config.update(serialized(activity_regularizer=self.activity_regularizer))
        if self._declared_input_shape is not None:
            config["batch_input_shape"] = self._declared_input_shape
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def serialized(**values):
    """Config entries for initializers, regularizers and constraints: objects as Keras's dicts
    (`{"module": "keras.initializers", "class_name": "GlorotUniform", ...}`), names and None as they are, plain
    functions as `function_config` keeps them."""
    return {key: function_config(value) if callable(value) and not hasattr(value, "get_config")
            else serialize_keras_object(value) for key, value in values.items()}


def _flatten_arrays(structure):
    """The arrays in a layer's outputs (an array, or a list / tuple / dict of them), in order."""
    if isinstance(structure, dict):
        return [a for v in structure.values() for a in _flatten_arrays(v)]
    if isinstance(structure, (list, tuple)):
        return [a for v in structure for a in _flatten_arrays(v)]
    return [structure] if _backend.get().is_array(structure) else []


def nested_layers(layer):
    """Every layer below `layer` (sublayers, theirs, ...), each once."""
    found, stack, seen = [], list(layer._sublayers()), {id(layer)}
    while stack:
        current = stack.pop(0)
        if id(current) not in seen:
            seen.add(id(current))
            found.append(current)
            stack.extend(current._sublayers())
    return found


def _as_tuple(shape):
    return (int(shape),) if is_int(shape) else tuple(None if d is None else int(d) if is_int(d) else d for d in shape)


def _is_shape_list(shape):
    return isinstance(shape, list) and all(isinstance(s, (tuple, list)) for s in shape)


def _convert_numpy(inputs):
    """NumPy arrays (also inside lists/dicts) as backend arrays, float64 as float32: Keras accepts `model(x_np)`."""
    if isinstance(inputs, np.ndarray):
        return _backend.get().convert(inputs.astype(np.float32) if inputs.dtype == np.float64 else inputs)
    if isinstance(inputs, (list, tuple)):
        return type(inputs)(_convert_numpy(x) for x in inputs)
    if isinstance(inputs, dict):
        return {k: _convert_numpy(v) for k, v in inputs.items()}
    return inputs


def _shape_of(inputs):
    B = _backend.get()
    if isinstance(inputs, (list, tuple)):
        return [_shape_of(x) for x in inputs]
    if isinstance(inputs, dict):
        return {k: _shape_of(v) for k, v in inputs.items()}
    if isinstance(inputs, np.ndarray):
        return tuple(inputs.shape)
    return B.shape(inputs)


def _merge_probe_shapes(B, a, b):
    if isinstance(a, (list, tuple)):
        return [_merge_probe_shapes(B, x, y) for x, y in zip(a, b)]
    return tuple(da if da == db else None for da, db in zip(B.shape(a), B.shape(b)))
