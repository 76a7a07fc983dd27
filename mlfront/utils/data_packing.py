"""`pack_x_y_sample_weight` / `unpack_x_y_sample_weight`: the `x`, `(x, y)`, `(x, y, sample_weight)` forms of a
batch that `fit` reads, for custom `train_step`s and datasets (Keras's `keras.utils` functions)."""

from mlfront.training.data import unpack_batch


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch `fit` reads from `x`, `y` and `sample_weight`, as Keras packs it.

    `x` alone is returned as it is, except a list/tuple `x` (several inputs), which becomes `(x,)` so that it
    is not read as `(x, y)`; with `y`: `(x, y)`; with `sample_weight` too: `(x, y, sample_weight)`.
    A `sample_weight` without `y` raises (Keras drops it silently): a batch cannot hold weights without targets.

    Example:
        ```python
        data = pack_x_y_sample_weight(x, y)  # (x, y)
        x, y, sample_weight = unpack_x_y_sample_weight(data)  # sample_weight is None
        ```

    Raises:
        ValueError: `sample_weight` is given without `y`.
    """
    if y is None and sample_weight is not None:
        raise ValueError("pack_x_y_sample_weight: `sample_weight` was given without `y`; a batch holds "
                         "x, (x, y) or (x, y, sample_weight).")
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from a batch `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (None for what
    is missing), as Keras unpacks it: a list is read as a tuple, anything else as `x` alone.

    Raises:
        ValueError: a tuple or list of more than 3 items.
    """
    return unpack_batch(tuple(data) if isinstance(data, list) else data)
