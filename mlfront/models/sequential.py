"""`Sequential`: a plain stack of layers, each feeding the next."""

from mlfront.layers.base import Layer
from mlfront.layers.core import InputLayer
from mlfront.layers.graph import SymbolicTensor
from mlfront.models.model import Model, host_array
from mlfront.saving.serialization import (deserialize_keras_object, expect_instance, layer_objects,
                                          serialize_keras_object)
from mlfront.training.data import to_numpy_input


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: the layers in order; the first may be `Input(shape=...)` or carry `input_shape=`.
        name: the model's name.

    The model is built as soon as its input shape is known (from `Input`, `input_shape` / `input_dim` on the
    first layer, or `build(input_shape)`), else on its first call.

    Host layers (`TextVectorization`, `StringLookup`, ...: NumPy, strings in) may only come first: they run on
    each NumPy batch before it becomes engine arrays, and the compiled step runs the layers after them.
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._layers = []
        self._input_batch_shape = None
        self._input_dtype = None
        self._num_host = 0  # the leading host layers
        self._output_shapes = {}
        self._graph_tensors = []  # symbolic input, then each layer's symbolic output, once the input shape is known
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return list(self._layers)

    def add(self, layer):
        """Append a layer (or an `Input`, which sets the input shape)."""
        if isinstance(layer, SymbolicTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError(f"Sequential '{self.name}': an Input can only be the first layer.")
            self._input_batch_shape = layer.batch_shape
            self._input_dtype = layer.dtype
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}'.add expects a Layer instance, got {layer!r} "
                            f"of type {type(layer).__name__}.")
        if not self._layers and layer._declared_input_shape is not None and self._input_batch_shape is None:
            self._input_batch_shape = layer._declared_input_shape
        self._check_host_order(layer)
        self._layers.append(layer)
        if self._graph_tensors:
            self._connect(layer)
        elif self._input_batch_shape is not None:
            self.build(self._input_batch_shape)

    def pop(self):
        """Remove the last layer."""
        if not self._layers:
            raise ValueError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._layers.pop()
        self._num_host = min(self._num_host, len(self._layers))
        self._has_host_layers = self._num_host > 0
        if self._graph_tensors:
            self._graph_tensors.pop()
        return layer

    def build(self, input_shape=None):
        """Build every layer for inputs of `input_shape` (batch dimension first).

        The layers are called on a symbolic `Input`, which records the graph, so `model.input`, `model.output`
        and `layer.output` work (e.g. `Model(model.input, model.layers[-2].output)` for feature extraction).
        """
        shape = tuple(input_shape if input_shape is not None else self._input_batch_shape)
        self._input_batch_shape = shape
        self._graph_tensors = [InputLayer(batch_shape=shape, dtype=self._input_dtype,
                                          name=f"{self.name}_input").output]
        for layer in self._layers:
            self._connect(layer)
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:  # built from the first batch: the batch size is not part of the model
            self.build((None,) + tuple(input_shape)[1:])

    def _connect(self, layer):
        output = layer(self._graph_tensors[-1])
        self._graph_tensors.append(output)
        self._output_shapes[layer.name] = output.shape if hasattr(output, "shape") else None

    @property
    def inputs(self):
        return self._graph_tensors[:1]

    @property
    def outputs(self):
        return self._graph_tensors[-1:] if len(self._graph_tensors) > 1 else []

    @property
    def input(self):
        if not self._graph_tensors:
            raise ValueError(f"Sequential '{self.name}' has no defined input yet: give the first layer "
                             f"`input_shape=` or start with `Input(shape=...)`.")
        return self._graph_tensors[0]

    @property
    def output(self):
        if len(self._graph_tensors) < 2:
            raise ValueError(f"Sequential '{self.name}' has no defined output yet: give it an input shape "
                             f"and at least one layer.")
        return self._graph_tensors[-1]

    def _check_host_order(self, layer):
        if getattr(layer, "_has_host_layers", False):
            raise ValueError(f"Sequential '{self.name}': the nested model '{layer.name}' has host (NumPy) layers; "
                             f"add its layers to this model directly instead.")
        if not getattr(layer, "runs_on_host", False):
            return
        if self._num_host != len(self._layers):
            raise ValueError(f"Sequential '{self.name}': layer '{layer.name}' computes on the host (NumPy) and must "
                             f"come before engine layers; it follows '{self._layers[-1].name}'.")
        self._num_host += 1
        self._has_host_layers = True

    def host_preprocess(self, x):
        """The host layers (the leading ones) applied to a raw NumPy batch `x`."""
        x = host_array(x, self._input_batch_shape)
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]))
        for layer in self._layers[:self._num_host]:
            x = layer(x)
        return to_numpy_input(x)

    def call(self, inputs, training=None, mask=None):
        x = inputs
        # host layers have run already (host_preprocess): the inputs are those of the first engine layer
        for layer in self._layers[self._num_host:] if self._num_host else self._layers:
            kwargs = {}
            if layer._call_takes_training:
                kwargs["training"] = training
            if mask is not None and layer._call_takes_mask:
                kwargs["mask"] = mask
            outputs = layer(x, **kwargs)
            mask = layer.compute_mask(x, mask) if (mask is not None or layer.supports_masking) else None
            x = outputs
        return x

    def compute_output_shape(self, input_shape):
        for layer in self._layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def compute_mask(self, inputs, mask=None):
        return None

    def expected_input_shapes(self):
        if self._input_batch_shape is None or not self._layers:
            return None
        return [(self._layers[0].name, None if self._num_host else self._input_batch_shape)]

    def layer_output_shape(self, layer):
        return self._output_shapes.get(layer.name)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable,
                  "layers": [serialize_keras_object(layer) for layer in self._layers]}
        if self._input_batch_shape is not None:
            config["batch_input_shape"] = self._input_batch_shape
        if self._input_dtype not in (None, "float32"):
            config["input_dtype"] = self._input_dtype
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model from `get_config()` (Keras 2 and 3 forms); custom layers from `custom_objects` or the
        registry (`register_keras_serializable`)."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"Sequential.from_config: expected a dict with a list of 'layers', got "
                             f"{type(config).__name__}.")
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        if config.get("batch_input_shape") is not None:
            model._input_batch_shape = tuple(config["batch_input_shape"])
            model._input_dtype = config.get("input_dtype")
        for index, spec in enumerate(config["layers"]):
            if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
                raise ValueError(f"Sequential.from_config: layer {index} must be a dict with a 'class_name', got "
                                 f"{spec!r}.")
            what = f"Sequential.from_config (layer {index}, {spec['class_name']!r})"
            try:
                layer = deserialize_keras_object(spec, custom_objects, module_objects=layer_objects())
            except ValueError as error:
                raise ValueError(f"{what}: cannot build this layer: {error}") from None
            model.add(expect_instance(layer, Layer, what))
        return model
