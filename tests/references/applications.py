"""NumPy forward passes of VGG16 and ResNet50, written from the papers' block structure.

Weights are read from a built mlfront model by Keras's layer names (`model.get_layer(name).get_weights()`), so
these also check that every name exists and holds the weight it should. float64, channels_last, inference mode.
"""

import numpy as np

from references import conv as ref_conv
from references.layers import batch_norm_infer


def _relu(x):
    return np.maximum(x, 0.0)


def _conv(model, name, x, strides=1, padding="valid"):
    kernel, bias = model.get_layer(name).get_weights()
    return ref_conv.conv(x, kernel, strides=strides, padding=padding) + bias


def _dense(model, name, x):
    kernel, bias = model.get_layer(name).get_weights()
    return x @ kernel + bias


def _bn(model, name, x, epsilon=1.001e-5):
    gamma, beta, mean, var = model.get_layer(name).get_weights()
    return batch_norm_infer(x, gamma, beta, mean, var, axis=-1, epsilon=epsilon)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def vgg16(model, x, include_top=True, pooling=None):
    """Five blocks of 3x3 "same" ReLU convolutions, each followed by 2x2 max pooling; then fc1, fc2, softmax."""
    x = np.asarray(x, np.float64)
    for block, convs in enumerate((2, 2, 3, 3, 3), start=1):
        for i in range(1, convs + 1):
            x = _relu(_conv(model, f"block{block}_conv{i}", x, padding="same"))
        x = ref_conv.pool(x, 2, 2, kind="max")
    if include_top:
        x = x.reshape(x.shape[0], -1)
        x = _relu(_dense(model, "fc1", x))
        x = _relu(_dense(model, "fc2", x))
        return _softmax(_dense(model, "predictions", x))
    return ref_conv.global_pool(x, pooling) if pooling else x


def resnet50(model, x, include_top=True, pooling=None, classifier_activation="softmax"):
    """7x7/2 stem, 3x3/2 max pool, then bottleneck blocks (3, 4, 6, 3) with projection shortcuts first."""
    x = np.pad(np.asarray(x, np.float64), [(0, 0), (3, 3), (3, 3), (0, 0)])
    x = _relu(_bn(model, "conv1_bn", _conv(model, "conv1_conv", x, strides=2)))
    x = ref_conv.pool(np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)]), 3, 2, kind="max")
    for stage, blocks, stride in (("conv2", 3, 1), ("conv3", 4, 2), ("conv4", 6, 2), ("conv5", 3, 2)):
        for block in range(1, blocks + 1):
            name = f"{stage}_block{block}"
            s = stride if block == 1 else 1
            shortcut = _bn(model, f"{name}_0_bn", _conv(model, f"{name}_0_conv", x, strides=s)) if block == 1 else x
            h = _relu(_bn(model, f"{name}_1_bn", _conv(model, f"{name}_1_conv", x, strides=s)))
            h = _relu(_bn(model, f"{name}_2_bn", _conv(model, f"{name}_2_conv", h, padding="same")))
            h = _bn(model, f"{name}_3_bn", _conv(model, f"{name}_3_conv", h))
            x = _relu(shortcut + h)
    if include_top:
        logits = _dense(model, "predictions", x.mean(axis=(1, 2)))
        return _softmax(logits) if classifier_activation == "softmax" else logits
    return ref_conv.global_pool(x, pooling) if pooling else x


def vgg16_param_count(height, width, classes=1000):
    """Parameters of VGG16 with the top, from the layer sizes: 13 conv layers, then fc1, fc2, predictions."""
    count, channels = 0, 3
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            count += 3 * 3 * channels * filters + filters
            channels = filters
    flat = (height // 32) * (width // 32) * 512
    return count + flat * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * classes + classes
