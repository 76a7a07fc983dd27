"""VGG16 (Simonyan & Zisserman, 2014): 13 3x3 convolutions in five blocks, then three Dense layers."""

from mlfront import layers
from mlfront.applications import imagenet_utils
from mlfront.models.functional import Functional

# (filters, convolutions) of the five blocks
_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def VGG16(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg16"):
    """The VGG16 network, with Keras's layer names (`block1_conv1`, ..., `fc1`, `fc2`, `predictions`).

    Args:
        include_top: whether to end with the classifier (`flatten`, `fc1`, `fc2`, `predictions`).
        weights: None (random initial weights) or the path of a local weights file: an mlfront `.weights.h5`
            written by `save_weights`, or a Keras HDF5 weights file (matched by layer name). "imagenet" is
            refused: nothing is downloaded.
        input_tensor: a symbolic tensor (from `mlfront.Input`) to use as the image input.
        input_shape: (height, width, channels), at least 32x32; (224, 224, 3) by default with the top,
            (None, None, 3) without.
        pooling: without the top, None (the last block's 4D output), "avg" or "max" (global pooling to 2D).
        classes: number of classes of the classifier.
        classifier_activation: activation of the `predictions` layer (None for logits).
        name: the model's name.

    Returns:
        A functional `Model`. Feed it images preprocessed with `mlfront.applications.vgg16.preprocess_input`.
    """
    imagenet_utils.check_weights("VGG16", weights)
    imagenet_utils.check_pooling("VGG16", pooling)
    inputs = imagenet_utils.image_input("VGG16", input_tensor, input_shape, include_top)
    x = inputs
    for block, (filters, convs) in enumerate(_BLOCKS, start=1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{block}_conv{conv}")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    source = imagenet_utils.source_inputs(input_tensor) if input_tensor is not None else inputs
    model = Functional(source, x, name=name)
    if weights is not None:
        imagenet_utils.load_model_weights(model, weights)
    return model


def preprocess_input(x, data_format=None):
    """VGG16's preprocessing: RGB to BGR, then subtract ImageNet's channel means ("caffe" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
