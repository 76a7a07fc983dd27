"""Ready-made image models with Keras's topologies and layer names (like `keras.applications`).

Weights are never downloaded: pass `weights=None` or the path of a local weights file.
"""

from mlfront.applications import imagenet_utils, resnet50, vgg16
from mlfront.applications.resnet50 import ResNet50
from mlfront.applications.vgg16 import VGG16

__all__ = ["VGG16", "ResNet50", "imagenet_utils", "resnet50", "vgg16"]
