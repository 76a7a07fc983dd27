"""ResNet50 (He et al., 2015): a 7x7 stem, then 16 bottleneck residual blocks in four stages."""

from mlfront import layers
from mlfront.applications import imagenet_utils
from mlfront.models.functional import Functional

_BN_EPSILON = 1.001e-5
# (name, filters, blocks, stride of the first block) of the four stages
_STAGES = (("conv2", 64, 3, 1), ("conv3", 128, 4, 2), ("conv4", 256, 6, 2), ("conv5", 512, 3, 2))


def _bottleneck(x, filters, stride, projection, name):
    """1x1 (filters) -> 3x3 (filters) -> 1x1 (4 * filters) convolutions, each batch-normalized, plus a
    shortcut: the input itself, or a strided 1x1 convolution ("projection") when the shape changes."""
    if projection:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def ResNet50(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", name="resnet50"):
    """The ResNet50 network, with Keras's layer names (`conv1_conv`, `conv2_block1_1_conv`, `conv2_block1_1_bn`,
    ..., `avg_pool`, `predictions`).

    Args:
        include_top: whether to end with the classifier (`avg_pool` then the Dense layer `predictions`).
        weights: None (random initial weights) or the path of a local weights file: an mlfront `.weights.h5`
            written by `save_weights`, or a Keras HDF5 weights file (matched by layer name). "imagenet" is
            refused: nothing is downloaded.
        input_tensor: a symbolic tensor (from `mlfront.Input`) to use as the image input.
        input_shape: (height, width, channels), at least 32x32; (224, 224, 3) by default with the top,
            (None, None, 3) without.
        pooling: without the top, None (the last stage's 4D output), "avg" or "max" (global pooling to 2D).
        classes: number of classes of the classifier.
        classifier_activation: activation of the `predictions` layer (None for logits).
        name: the model's name.

    Returns:
        A functional `Model`. Feed it images preprocessed with `mlfront.applications.resnet50.preprocess_input`.
    """
    imagenet_utils.check_weights("ResNet50", weights)
    imagenet_utils.check_pooling("ResNet50", pooling)
    inputs = imagenet_utils.image_input("ResNet50", input_tensor, input_shape, include_top)
    x = layers.ZeroPadding2D(padding=3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, filters, blocks, stride in _STAGES:
        for block in range(1, blocks + 1):
            first = block == 1
            x = _bottleneck(x, filters, stride if first else 1, projection=first, name=f"{stage}_block{block}")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    source = imagenet_utils.source_inputs(input_tensor) if input_tensor is not None else inputs
    model = Functional(source, x, name=name)
    if weights is not None:
        imagenet_utils.load_model_weights(model, weights)
    return model


def preprocess_input(x, data_format=None):
    """ResNet50's preprocessing: RGB to BGR, then subtract ImageNet's channel means ("caffe" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
