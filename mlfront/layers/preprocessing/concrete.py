"""Whether a value is known now: eager arrays are, values traced inside a compiled step are not."""

from mlfront import backend as _backend


def concrete_values(x):
    """The NumPy values of `x`, or None while a compiled step traces it (its values are unknown then)."""
    try:
        return _backend.get().to_numpy(x)
    except (TypeError, NotImplementedError):  # a jax tracer / a symbolic tf.Tensor
        return None
