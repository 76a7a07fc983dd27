"""Helpers shared by the ImageNet models: input preprocessing, decoding predictions, input shapes and weights.

Nothing here downloads anything: weights and the ImageNet class index are read from local files only.
"""

import json
import os

import numpy as np

from mlfront import backend as _backend
from mlfront.layers.core import Input, InputLayer
from mlfront.layers.graph import SymbolicTensor

# Per-channel ImageNet statistics: means in BGR order for "caffe"; mean and std in RGB order for "torch".
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


# ---------------------------------------------------------------------- preprocessing and decoding
def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch of RGB images (values 0-255) the way an ImageNet model was trained to see them.

    Args:
        x: NumPy array or backend array of images, channels last (or first, see `data_format`), 3 channels.
        data_format: "channels_last" (default) or "channels_first".
        mode: "caffe" (RGB to BGR, then subtract the ImageNet channel means; VGG16, ResNet50), "tf" (scale to
            [-1, 1]) or "torch" (scale to [0, 1], then normalize each channel with ImageNet's mean and std).

    Returns:
        A new float32 array of the same kind and shape (the input is left unchanged).
    """
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"preprocess_input: `data_format` must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    if mode not in ("caffe", "tf", "torch"):
        raise ValueError(f"preprocess_input: `mode` must be 'caffe', 'tf' or 'torch', got {mode!r}.")
    B = _backend.get()
    on_backend = B.is_array(x)
    x = B.cast(x, "float32") if on_backend else np.asarray(x, dtype=np.float32)
    rank = len(B.shape(x)) if on_backend else x.ndim
    channel_axis = rank - 1 if data_format == "channels_last" else rank - 3
    shape = tuple(B.shape(x)) if on_backend else x.shape
    if mode != "tf" and (rank < 3 or shape[channel_axis] != 3):
        raise ValueError(f"preprocess_input: mode {mode!r} expects RGB images with 3 channels ({data_format}), "
                         f"got an array of shape {shape}.")
    stats_shape = [1] * rank
    stats_shape[channel_axis] = 3

    def per_channel(values):
        array = np.asarray(values, np.float32).reshape(stats_shape)
        return B.convert(array) if on_backend else array

    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        return (x / 255.0 - per_channel(_TORCH_MEAN)) / per_channel(_TORCH_STD)
    if on_backend:
        bgr = B.take(x, B.convert(np.array([2, 1, 0], np.int32)), axis=channel_axis)
    else:
        bgr = np.flip(x, axis=channel_axis)
    return bgr - per_channel(_CAFFE_MEAN_BGR)

def decode_predictions(preds, top=5, class_index_path=None):
    """The `top` most probable classes of each prediction, as (class id, description, score) tuples.

    Args:
        preds: array of shape (samples, classes): a model's probabilities.
        top: how many classes to return per sample.
        class_index_path: a local JSON file mapping class indices to `[id, description]` (the layout of
            Keras's `imagenet_class_index.json`: `{"0": ["n01440764", "tench"], ...}`). It is never downloaded:
            without it, classes are named by their index (`("3", "class_3", score)`).

    Returns:
        A list with one list of `top` tuples per sample, the most probable first.
    """
    preds = np.asarray(_backend.get().to_numpy(preds) if _backend.get().is_array(preds) else preds)
    if preds.ndim != 2:
        raise ValueError(f"decode_predictions expects a batch of predictions of shape (samples, classes), got "
                         f"an array of shape {preds.shape}.")
    names = None
    if class_index_path is not None:
        with open(class_index_path) as f:
            index = json.load(f)
        names = {int(k): tuple(v) for k, v in index.items()}
        if len(names) != preds.shape[1]:
            raise ValueError(f"decode_predictions: {class_index_path} names {len(names)} classes, but the "
                             f"predictions have {preds.shape[1]} (shape {preds.shape}).")
    results = []
    for row in preds:
        best = np.argsort(-row, kind="stable")[:top]
        results.append([(*(names[i] if names else (str(i), f"class_{i}")), float(row[i])) for i in best])
    return results


# ---------------------------------------------------------------------- model construction helpers
def check_weights(model_name, weights):
    """Reject `weights` other than None or an existing local file, with a message saying what to do."""
    if weights is None:
        return
    if weights == "imagenet":
        raise ValueError(f"{model_name}: weights='imagenet' would need a download, and mlfront never downloads "
                         f"weights. Pass `weights=None` for random initial weights, or the path of a local weights "
                         f"file (an mlfront `.weights.h5` written by `save_weights`, or a Keras HDF5 weights file).")
    if not isinstance(weights, (str, os.PathLike)) or not os.path.exists(weights):
        raise ValueError(f"{model_name}: `weights` must be None or the path of an existing local weights file, "
                         f"got {weights!r}.")


def check_pooling(model_name, pooling):
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{model_name}: `pooling` must be None, 'avg' or 'max', got {pooling!r}.")


def image_input(model_name, input_tensor, input_shape, include_top, default_size=224, min_size=32):
    """The model's input tensor: `input_tensor` when given, else a new `Input` of the checked `input_shape`.

    With `include_top` the spatial size must be known (the classifier's Dense layers depend on it), so it
    defaults to `(default_size, default_size, 3)`; without, it defaults to `(None, None, 3)`.
    """
    if input_tensor is not None and not isinstance(input_tensor, SymbolicTensor):
        raise TypeError(f"{model_name}: `input_tensor` must be a symbolic tensor from `mlfront.Input(...)` (or a "
                        f"layer output), got {type(input_tensor).__name__}.")
    if input_shape is None and input_tensor is not None:
        input_shape = input_tensor.shape[1:]
    if input_shape is None:
        input_shape = (default_size, default_size, 3) if include_top else (None, None, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"{model_name}: `input_shape` must be (height, width, channels), got {input_shape}.")
    if any(d is not None and d < min_size for d in input_shape[:2]):
        raise ValueError(f"{model_name}: input height and width must be at least {min_size}, got "
                         f"input_shape={input_shape}.")
    if include_top and None in input_shape:
        raise ValueError(f"{model_name}: with include_top=True the input shape must be fully known (the "
                         f"classifier's size depends on it), got input_shape={input_shape}.")
    if input_tensor is not None:
        if tuple(input_tensor.shape[1:]) != input_shape:
            raise ValueError(f"{model_name}: `input_tensor` has shape {input_tensor.shape}, which does not match "
                             f"input_shape={input_shape}.")
        return input_tensor
    return Input(shape=input_shape)


def source_inputs(tensor):
    """The `Input` tensors that `tensor` is computed from (the model's inputs when `input_tensor` is given)."""
    found, stack, seen = [], [tensor], set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t.node
        if isinstance(node.layer, InputLayer):
            found.append(t)
        else:
            stack.extend(reversed(node.input_tensors))
    return found[0] if len(found) == 1 else found


def load_model_weights(model, path):
    """Load `path` into `model`: an mlfront weights file (matched by layer order) or a Keras HDF5 weights file
    (matched by layer name, as Keras's `load_weights(..., by_name=True)` does; every layer of `model` with
    weights must be in it, so no layer keeps random weights unnoticed)."""
    from mlfront.saving import legacy_h5, saving_api

    if not saving_api.is_keras2_weights(path):
        model.load_weights(path)
        return
    stored = legacy_h5.layers_with_weights(path, "load_weights")
    missing = [layer.name for layer in model.layers if layer.weights and layer.name not in stored]
    if missing:
        raise ValueError(f"load_weights: layer(s) {missing} of model '{model.name}' have weights, but {path} has "
                         f"no layer of that name.")
    model.load_weights(path, by_name=True)
