"""Reshaping layers: Reshape, Permute, RepeatVector, and Lambda (any function as a layer)."""

import inspect
import math

from mlfront import backend as _backend
from mlfront.layers.base import Layer, positive_int
from mlfront.saving import serialization as _serialization


class Reshape(Layer):
    """Reshapes every sample to `target_shape` (the batch axis is kept).

    Args:
        target_shape: the new shape without the batch axis; one entry may be -1 (inferred).
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(int(d) for d in ((target_shape,) if isinstance(target_shape, int) else target_shape))
        if sum(d == -1 for d in target_shape) > 1:
            raise ValueError(f"Reshape '{self.name}': there must be at most one -1 (unknown dimension) in "
                             f"`target_shape`, got target_shape={target_shape}.")
        if any(d < -1 or d == 0 for d in target_shape):
            raise ValueError(f"Reshape '{self.name}': each dimension in `target_shape` must be a positive integer "
                             f"or a single -1, got target_shape={target_shape}.")
        self.target_shape = target_shape

    def _resolve(self, sample_shape):
        """`target_shape` with its -1 filled in for samples of `sample_shape` (-1 stays None when unknown)."""
        if None in sample_shape:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(sample_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise ValueError(f"Reshape '{self.name}': the total size must be unchanged: cannot reshape samples of "
                             f"shape {tuple(sample_shape)} ({size} entries) to target_shape {self.target_shape}.")
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def call(self, inputs):
        B = _backend.get()
        return B.reshape(inputs, (-1,) + self._resolve(B.shape(inputs)[1:]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape[1:]))

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the axes of every sample; `dims` numbers the axes from 1 (the batch axis is kept first).

    Args:
        dims: a permutation of 1..rank-1, e.g. (2, 1) swaps the two axes of a (batch, a, b) input.
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute '{self.name}': `dims` must be a permutation of 1..{len(self.dims)} (axes "
                             f"numbered from 1, the batch axis excluded), got {self.dims}.")

    def _check_rank(self, rank):
        if rank != len(self.dims) + 1:
            raise ValueError(f"Permute '{self.name}': expected ndim={len(self.dims) + 1} (dims {self.dims} need "
                             f"inputs of rank {len(self.dims) + 1}, batch included), found ndim={rank}.")

    def call(self, inputs):
        B = _backend.get()
        self._check_rank(len(B.shape(inputs)))
        return B.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        self._check_rank(len(input_shape))
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats a (batch, features) input `n` times: the output is (batch, n, features).

    Args:
        n: the number of repetitions.
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = positive_int(n, "n", f"RepeatVector '{self.name}'")

    def _check_rank(self, rank):
        if rank != 2:
            raise ValueError(f"RepeatVector '{self.name}': expected ndim=2 (inputs of rank 2: batch, features), "
                             f"found ndim={rank}.")

    def call(self, inputs):
        B = _backend.get()
        self._check_rank(len(B.shape(inputs)))
        return B.stack([inputs] * self.n, axis=1)

    def compute_output_shape(self, input_shape):
        self._check_rank(len(input_shape))
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Lambda(Layer):
    """Wraps a function of backend arrays (written with `mlfront.ops`) as a layer without weights.

    Args:
        function: `function(inputs, **arguments)`; it also gets `mask` / `training` when its signature has them.
        output_shape: the output shape without the batch axis (a tuple), or a function of the full input
            shape; when None the shape is found by running the function on zeros.
        mask: a mask for the outputs, or a function `mask(inputs, input_mask)`.
        arguments: extra keyword arguments for `function`.

    In its config, a function registered with `register_keras_serializable` (or a built-in activation) is
    saved by name, so the config is JSON-safe; any other function is kept as the Python object itself, which
    round-trips within a process but not through JSON (mlfront never writes or loads Python bytecode).
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda '{self.name}': `function` must be callable, got {function!r}.")
        if output_shape is not None and not callable(output_shape):
            output_shape = tuple(output_shape) if isinstance(output_shape, (list, tuple)) else (output_shape,)
        self.function = function
        self.output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        parameters = inspect.signature(function).parameters
        self._function_takes = {name for name in ("mask", "training") if name in parameters}
        self.supports_masking = mask is not None

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if "mask" in self._function_takes:
            kwargs["mask"] = mask
        if "training" in self._function_takes:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self.output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape):
            return self.output_shape(input_shape)
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return (batch,) + self.output_shape

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        return {**super().get_config(), "function": _function_config(self.function),
                "output_shape": _function_config(self.output_shape), "mask": _function_config(self.mask),
                "arguments": self.arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The layer from `get_config()`, or from a Keras 2 / 3 config whose functions are registered or in
        `custom_objects`; a function saved as Python code is refused (see `deserialize_keras_object`)."""
        config = dict(config)
        kinds = {key: config.pop(f"{key}_type", None) for key in ("function", "output_shape")}
        config.pop("module", None)
        config.pop("output_shape_module", None)
        for key in ("function", "output_shape", "mask"):
            config[key] = _function_from_config(config.get(key), kinds.get(key), custom_objects, key)
        return cls(**config)


def _function_config(value):
    return list(value) if isinstance(value, tuple) else _serialization.function_config(value)


def _function_from_config(value, kind, custom_objects, key):
    """A Lambda's function / output_shape / mask from its config entry (Keras 3 dict, Keras 2 typed entry)."""
    if kind == "lambda" or (isinstance(value, dict) and value.get("class_name") == "__lambda__"):
        raise ValueError(f"Lambda.from_config (`{key}`): " + _serialization.lambda_refusal(
            _serialization.in_safe_mode()))
    if kind == "function" and isinstance(value, str):  # Keras 2: the function's name
        found = _serialization.get_registered_object(value, custom_objects)
        if found is None:
            raise ValueError(f"Lambda.from_config (`{key}`): function {value!r} is neither registered with "
                             f"`register_keras_serializable` nor given in `custom_objects`.")
        return found
    if isinstance(value, dict):
        return _serialization.function_from_config(value, custom_objects, module_objects={})
    return value
