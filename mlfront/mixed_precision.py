"""Mixed precision: dtype policies (Keras 3's `keras.mixed_precision` / `keras.DTypePolicy`).

A policy names two dtypes: the one a layer computes in (`compute_dtype`) and the one its variables are
stored in (`variable_dtype`). "mixed_float16" and "mixed_bfloat16" compute in 16 bits and keep float32
variables; a plain dtype name ("float32", "bfloat16", ...) uses that dtype for both.

    mlfront.mixed_precision.set_global_policy("mixed_bfloat16")
    model = mlfront.Sequential([layers.Dense(128, activation="relu"),
                                layers.Dense(10), layers.Activation("softmax", dtype="float32")])

Layers created afterwards without `dtype=` take the global policy. Under a mixed policy a layer casts its
float inputs to the compute dtype, and reads its float32 variables cast to the compute dtype during its call
(the cast is part of the computation, so the gradients reach the float32 variables). The training step computes
the loss in float32. Under "mixed_float16" `compile` wraps the optimizer in a `LossScaleOptimizer` (dynamic
loss scaling), as Keras 3 does.
"""

import types

from mlfront.backend import config as _config

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_LOW_PRECISION = ("float16", "bfloat16")
_global_policy = [None]  # None: the policy named by floatx()
_low_precision_used = [False]  # set once any policy computes in 16 bits: layers skip all casting until then


class DTypePolicy:
    """A dtype policy: the dtypes a layer computes in and stores its variables in.

    Args:
        name: "mixed_float16", "mixed_bfloat16", or a dtype name ("float32", "bfloat16", "float16", ...);
            None is `floatx()` ("float32").

    Attributes:
        name: the policy's name.
        compute_dtype: the dtype of the layer's computation and outputs.
        variable_dtype: the dtype of the layer's variables.
    """

    def __init__(self, name=None):
        if name is None:
            name = _config.floatx()
        if not isinstance(name, str):
            raise ValueError(f"DTypePolicy: `name` must be a string such as 'mixed_float16' or 'float32', "
                             f"got {name!r}.")
        if name.startswith("mixed_") and name not in _MIXED:
            raise ValueError(f"DTypePolicy: unknown mixed policy {name!r}; expected one of {sorted(_MIXED)}.")
        self._name = name
        if name in _MIXED:
            self._compute_dtype, self._variable_dtype = _MIXED[name], "float32"
        else:
            self._compute_dtype = self._variable_dtype = name
        if self._compute_dtype in _LOW_PRECISION:
            _low_precision_used[0] = True

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    @property
    def is_mixed(self):
        """True when the compute dtype differs from the variable dtype."""
        return self._compute_dtype != self._variable_dtype

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


Policy = DTypePolicy  # the Keras 2 name (`tf.keras.mixed_precision.Policy`)


def get(identifier, owner="mixed_precision"):
    """A `DTypePolicy` from a policy, a name, None (the global policy) or a Keras config dict
    (`{"class_name": "DTypePolicy" | "Policy", "config": {"name": ...}}`, Keras 3 and Keras 2)."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        config = identifier.get("config")
        if identifier.get("class_name") not in ("DTypePolicy", "Policy", "FloatDTypePolicy") \
                or not isinstance(config, dict):
            raise ValueError(f"{owner}: dtype should be a dtype name or a DTypePolicy config, got {identifier!r}.")
        return DTypePolicy(config.get("name"))
    if not isinstance(identifier, str):
        name = getattr(identifier, "name", None)  # a NumPy dtype, or another library's policy object
        if not isinstance(name, str):
            raise ValueError(f"{owner}: dtype should be a dtype name such as 'float32' or a policy name such as "
                             f"'mixed_float16', got {identifier!r}.")
        identifier = name
    return DTypePolicy(identifier)


def set_global_policy(policy):
    """Set the policy of layers created from now on without `dtype=`.

    Args:
        policy: a `DTypePolicy` or its name ("mixed_float16", "mixed_bfloat16", "float32", ...); None
            restores the default (`floatx()`).
    """
    if policy is None:
        _global_policy[0] = None
        return
    policy = get(policy, "set_global_policy")
    if not policy.compute_dtype.startswith(("float", "bfloat")):
        raise ValueError(f"set_global_policy: only floating-point policies can be global, got {policy.name!r}.")
    _global_policy[0] = policy


def global_policy():
    """The policy of layers created without `dtype=` (by default the one named by `floatx()`)."""
    return _global_policy[0] if _global_policy[0] is not None else DTypePolicy(_config.floatx())


def dtype_policy():
    """Keras 3 alias of `global_policy()`."""
    return global_policy()


def set_dtype_policy(policy):
    """Keras 3 alias of `set_global_policy(policy)`."""
    set_global_policy(policy)


def low_precision_used():
    """Whether any policy so far computes in float16 / bfloat16 (until then layers skip all casting)."""
    return _low_precision_used[0]


def is_low_precision(dtype):
    """Whether `dtype` (a name) is float16 or bfloat16."""
    return dtype in _LOW_PRECISION


def outputs_to_float32(structure):
    """Float16 / bfloat16 arrays in `structure` (an array, or lists / tuples / dicts of them) cast to float32:
    losses and metrics compute in float32, as in Keras."""
    if not _low_precision_used[0]:
        return structure
    from mlfront import backend as _backend
    B = _backend.get()

    def up(x):
        if isinstance(x, dict):
            return {k: up(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return type(x)(up(v) for v in x)
        return B.cast(x, "float32") if B.is_array(x) and B.dtype(x) in _LOW_PRECISION else x
    return up(structure)


def __getattr__(name):
    if name == "LossScaleOptimizer":  # defined with the optimizers (imported lazily: they import layers)
        from mlfront.optimizers import LossScaleOptimizer
        return LossScaleOptimizer
    raise AttributeError(f"module 'mlfront.mixed_precision' has no attribute {name!r}")


# Keras 2.3's `mixed_precision.experimental` names.
experimental = types.SimpleNamespace(Policy=DTypePolicy, set_policy=set_global_policy, global_policy=global_policy,
                                     get_layer_policy=lambda layer: layer.dtype_policy)

__all__ = ["DTypePolicy", "Policy", "LossScaleOptimizer", "set_global_policy", "global_policy", "dtype_policy",
           "set_dtype_policy", "experimental"]
