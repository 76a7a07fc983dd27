"""Gradients of a model's outputs with respect to its inputs: saliency maps.

Written once on `mlfront.value_and_grad`, so the same code differentiates through every engine.
"""

import numpy as np

import mlfront
from mlfront import backend as _backend
from mlfront.backend.context import call_context


def input_gradients(model, images, class_index):
    """The gradient of each sample's class score with respect to its input, d score_c / d input.

    Args:
        model: a model (or layer) mapping a batch of inputs to scores of shape (batch, classes).
        images: a NumPy or backend array holding a batch of inputs.
        class_index: the class whose score is differentiated: one int for every sample, or one int per sample.

    Returns:
        A float32 NumPy array shaped like `images`. The model runs in inference mode (`training=False`), where
        each sample's score depends only on that sample, so one backward pass through the summed scores gives
        every sample's gradient.
    """
    B = _backend.get()
    x = images if B.is_array(images) else B.convert(np.asarray(images, dtype=np.float32))
    batch = B.shape(x)[0]
    indices = np.broadcast_to(np.asarray(class_index, dtype=np.int32), (batch,)) \
        if np.ndim(class_index) == 0 else np.asarray(class_index, dtype=np.int32)
    if indices.shape != (batch,):
        raise ValueError(f"saliency: `class_index` must be one int or one int per sample ({batch}), got "
                         f"{np.shape(class_index)} values.")

    def total_score(params):
        with call_context(False):
            scores = model(params[0], training=False)
        shape = B.shape(scores) if B.is_array(scores) else None
        if shape is None or len(shape) != 2:
            raise ValueError(f"saliency: model '{model.name}' must return one array of scores of shape "
                             f"(batch, classes), got {shape if shape is not None else type(scores).__name__}.")
        if indices.size and (indices.min() < 0 or indices.max() >= shape[1]):
            raise ValueError(f"saliency: `class_index` must lie in [0, {shape[1]}) for model '{model.name}' with "
                             f"{shape[1]} classes, got {sorted(set(indices.tolist()))}.")
        picked = B.one_hot(B.convert(indices), shape[1], dtype=B.dtype(scores))
        return B.sum(scores * picked)

    _, (grad,) = mlfront.value_and_grad(total_score)([x])
    return np.asarray(B.to_numpy(grad), dtype=np.float32)


def saliency_map(model, images, class_index):
    """Vanilla saliency (Simonyan et al., 2013): |d score_c / d input| for each sample.

    Args:
        model: a model mapping a batch of inputs to scores of shape (batch, classes). For a softmax classifier
            this differentiates the probability; a model ending in logits (e.g. `classifier_activation=None`)
            gives the classic logit saliency.
        images: a NumPy or backend array holding a batch of inputs.
        class_index: the class to explain: one int for every sample, or one int per sample.

    Returns:
        A float32 NumPy array shaped like `images`; take the maximum over the channel axis for one map per image.

    Example:
        ```python
        maps = mlfront.gradients.saliency_map(model, x[:4], class_index=y[:4])
        heat = maps.max(axis=-1)  # (4, height, width)
        ```
    """
    return np.abs(input_gradients(model, images, class_index))
