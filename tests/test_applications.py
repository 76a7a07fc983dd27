"""`mlfront.applications`: VGG16 / ResNet50 topologies, parameter counts, weights files and ImageNet helpers.

Forward passes are checked against NumPy implementations written from the papers' block structure
(tests/references/applications.py) on tiny 32x32 inputs; counts against Keras's published numbers.
"""

import json
import os

import h5py
import numpy as np
import pytest

import mlfront
from mlfront import layers
from mlfront.applications import ResNet50, VGG16, imagenet_utils, resnet50, vgg16
from references import applications as ref

SMALL = (32, 32, 3)


def _randomize(model, rng):
    """He-scaled random kernels, small random biases and random batch-norm statistics, so every weight matters."""
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = (w.shape for w in weights)
            layer.set_weights([rng.uniform(0.5, 1.5, gamma), rng.normal(0, 0.1, beta), rng.normal(0, 0.1, mean),
                               rng.uniform(0.5, 1.5, var)])
        elif weights:
            kernel, bias = weights
            fan_in = int(np.prod(kernel.shape[:-1]))
            layer.set_weights([rng.normal(0, np.sqrt(2.0 / fan_in), kernel.shape), rng.normal(0, 0.1, bias.shape)])


def _run(model, x):
    return model.predict(x, batch_size=len(x), verbose=0)  # compiled: one trace beats per-op dispatch on jax


def _assert_close(actual, expected, rtol=1e-4):
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# ---------------------------------------------------------------------- parameter counts and structure
def test_counts_without_top_match_keras():
    vgg = VGG16(include_top=False, input_shape=SMALL)
    assert vgg.count_params() == 14_714_688
    assert vgg.output_shape == (None, 1, 1, 512)
    resnet = ResNet50(include_top=False, input_shape=SMALL)
    assert resnet.count_params() == 23_587_712
    assert len(resnet.layers) == 175 and resnet.output_shape == (None, 1, 1, 2048)
    # the 53 batch-norm layers' moving statistics are the non-trainable weights
    non_trainable = sum(int(np.prod(v.shape)) for v in resnet.non_trainable_weights)
    assert non_trainable == 53_120 and len(resnet.non_trainable_weights) == 2 * 53


def test_counts_with_top():
    resnet = ResNet50()  # default input (224, 224, 3)
    assert resnet.count_params() == 25_636_712
    assert resnet.input_shape == (None, 224, 224, 3) and resnet.output_shape == (None, 1000)
    assert [l.name for l in resnet.layers[-2:]] == ["avg_pool", "predictions"]
    # VGG16's top depends on the input size (fc1 sees height/32 x width/32 x 512 values): build it small and
    # check the same formula gives Keras's published 138,357,544 at 224x224.
    small = VGG16(input_shape=SMALL, classes=10)
    assert small.count_params() == ref.vgg16_param_count(32, 32, classes=10)
    assert small.get_layer("fc1").get_weights()[0].shape == (512, 4096)
    assert ref.vgg16_param_count(224, 224) == 138_357_544


def test_layer_names_follow_keras():
    vgg = VGG16(input_shape=SMALL, classes=3)
    assert isinstance(vgg.layers[0], layers.InputLayer)
    expected = [vgg.layers[0].name]
    for block, convs in enumerate((2, 2, 3, 3, 3), start=1):
        expected += [f"block{block}_conv{i}" for i in range(1, convs + 1)] + [f"block{block}_pool"]
    expected += ["flatten", "fc1", "fc2", "predictions"]
    assert [l.name for l in vgg.layers] == expected
    assert vgg.name == "vgg16"

    resnet = ResNet50(include_top=False, pooling="max", input_shape=SMALL)
    names = [l.name for l in resnet.layers]
    assert names[1:7] == ["conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu", "pool1_pad", "pool1_pool"]
    block = ["0_conv", "1_conv", "0_bn", "1_bn", "1_relu", "2_conv", "2_bn", "2_relu", "3_conv", "3_bn", "add", "out"]
    for name in (f"conv{stage}_block1_{part}" for stage in range(2, 6) for part in block):
        assert name in names
    assert "conv4_block6_out" in names and "conv4_block7_out" not in names
    assert names[-1] == "max_pool" and resnet.name == "resnet50"
    assert isinstance(resnet.get_layer("conv2_block1_1_bn"), layers.BatchNormalization)
    assert resnet.get_layer("conv2_block1_1_bn").epsilon == pytest.approx(1.001e-5)


def test_vgg16_pooling_and_unknown_size():
    for pooling in (None, "avg", "max"):
        model = VGG16(include_top=False, pooling=pooling)
        assert model.input_shape == (None, None, None, 3)
        assert model.output_shape == ((None, 512) if pooling else (None, None, None, 512))
    assert _run(model, np.zeros((1, 64, 32, 3), np.float32)).shape == (1, 512)


# ---------------------------------------------------------------------- forward passes against NumPy
def test_vgg16_matches_numpy_reference(rng):
    model = VGG16(input_shape=SMALL, classes=5)
    _randomize(model, rng)
    x = rng.uniform(-1, 1, (2,) + SMALL).astype(np.float32)
    out = _run(model, x)
    expected = ref.vgg16(model, x)
    assert out.shape == (2, 5)
    _assert_close(out, expected)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-5)


def test_resnet50_matches_numpy_reference(rng):
    model = ResNet50(input_shape=SMALL, classes=4, classifier_activation=None)
    _randomize(model, rng)
    x = rng.uniform(-1, 1, (2,) + SMALL).astype(np.float32)
    out = _run(model, x)
    assert out.shape == (2, 4)
    _assert_close(out, ref.resnet50(model, x, classifier_activation=None))


# ---------------------------------------------------------------------- weights
def test_imagenet_weights_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="never downloads weights.*local weights file"):
        VGG16(weights="imagenet")
    with pytest.raises(ValueError, match="ResNet50.*download"):
        ResNet50(weights="imagenet", include_top=False)
    with pytest.raises(ValueError, match="existing local weights file"):
        VGG16(weights="/nonexistent/vgg16.weights.h5")


def test_weights_from_a_local_mlfront_file(tmp_path, rng):
    source = VGG16(include_top=False, input_shape=SMALL)
    _randomize(source, rng)
    path = str(tmp_path / "vgg16_notop.weights.h5")
    source.save_weights(path)
    loaded = VGG16(include_top=False, input_shape=SMALL, weights=path)
    for a, b in zip(source.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_from_a_keras_h5_file_by_layer_name(tmp_path, rng):
    """Keras's HDF5 layout: root attribute `layer_names`, per layer a group with `weight_names` datasets."""
    source = VGG16(include_top=False, input_shape=SMALL)
    _randomize(source, rng)
    path = str(tmp_path / "keras_layout.h5")
    with h5py.File(path, "w") as f:
        named = [l for l in source.layers if l.get_weights()][::-1]  # order must not matter, only names
        f.attrs["layer_names"] = [l.name.encode() for l in named] + [b"unused_layer"]
        f.create_group("unused_layer").attrs["weight_names"] = []
        for layer in named:
            group = f.create_group(layer.name)
            weight_names = [f"{layer.name}/{w}:0" for w in ("kernel", "bias")]
            group.attrs["weight_names"] = [n.encode() for n in weight_names]
            for n, value in zip(weight_names, layer.get_weights()):
                group.create_dataset(n, data=value)
    loaded = VGG16(include_top=False, input_shape=SMALL, weights=path)
    for a, b in zip(source.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a file whose shapes do not fit is rejected before anything is assigned
    with pytest.raises(ValueError, match="block1_conv1.*shape"):
        VGG16(include_top=False, input_shape=(32, 32, 1), weights=path)


# ---------------------------------------------------------------------- arguments
def test_argument_errors():
    with pytest.raises(ValueError, match="pooling"):
        VGG16(include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="at least 32"):
        ResNet50(include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="include_top=True"):
        VGG16(include_top=True, input_shape=(None, None, 3))
    with pytest.raises(TypeError, match="input_tensor"):
        VGG16(include_top=False, input_tensor=np.zeros((1, 32, 32, 3)))


def test_input_tensor_keeps_the_source_input():
    images = layers.Input(shape=SMALL, name="images")
    scaled = layers.Activation("linear", name="scale")(images)
    model = VGG16(include_top=False, input_tensor=scaled, pooling="avg")
    assert model.input is images
    assert [l.name for l in model.layers[:2]] == ["images", "scale"]
    assert _run(model, np.ones((2,) + SMALL, np.float32)).shape == (2, 512)


# ---------------------------------------------------------------------- preprocess_input / decode_predictions
def test_preprocess_input_caffe_tf_torch(rng):
    x = rng.uniform(0, 255, (2, 4, 4, 3)).astype(np.float32)
    original = x.copy()
    expected = np.stack([x[..., 2] - 103.939, x[..., 1] - 116.779, x[..., 0] - 123.68], axis=-1)
    np.testing.assert_allclose(vgg16.preprocess_input(x), expected, rtol=1e-6)
    np.testing.assert_allclose(resnet50.preprocess_input(x), expected, rtol=1e-6)
    np.testing.assert_array_equal(x, original)  # the input is left alone
    on_backend = mlfront.ops.convert_to_numpy(vgg16.preprocess_input(mlfront.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(on_backend, expected, rtol=1e-6)
    first = np.moveaxis(x, -1, 1)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(first, data_format="channels_first"),
                               np.moveaxis(expected, -1, 1), rtol=1e-6)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x, mode="tf"), x / 127.5 - 1, rtol=1e-6)
    torch_mode = (x / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x, mode="torch"), torch_mode, rtol=1e-5, atol=1e-5)
    uint8 = imagenet_utils.preprocess_input(x.astype(np.uint8), mode="tf")
    assert uint8.dtype == np.float32
    with pytest.raises(ValueError, match="mode"):
        imagenet_utils.preprocess_input(x, mode="bgr")
    with pytest.raises(ValueError, match="3 channels"):
        vgg16.preprocess_input(x[..., :2])


def test_decode_predictions(tmp_path):
    preds = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]], np.float32)
    decoded = imagenet_utils.decode_predictions(preds, top=2)
    assert [[(c, d) for c, d, _ in row] for row in decoded] == [[("1", "class_1"), ("2", "class_2")],
                                                                [("0", "class_0"), ("2", "class_2")]]
    assert decoded[0][0][2] == pytest.approx(0.6)
    path = tmp_path / "classes.json"
    path.write_text(json.dumps({"0": ["n0", "cat"], "1": ["n1", "dog"], "2": ["n2", "fox"]}))
    decoded = vgg16.decode_predictions(preds, top=1, class_index_path=str(path))
    assert decoded == [[("n1", "dog", pytest.approx(0.6))], [("n0", "cat", pytest.approx(0.5))]]
    with pytest.raises(ValueError, match="names 3 classes"):
        imagenet_utils.decode_predictions(np.ones((1, 4)), class_index_path=str(path))
    with pytest.raises(ValueError, match="samples, classes"):
        imagenet_utils.decode_predictions(np.ones(4))


# ---------------------------------------------------------------------- against Keras itself (where installed)
def test_resnet50_matches_keras_layer_by_layer(rng, tmp_path):
    """The same layers, names, weight shapes and outputs as keras.applications.ResNet50, and Keras's own HDF5
    weights file loads by layer name (TensorFlow only)."""
    if mlfront.backend() != "tensorflow":
        pytest.skip("compared with Keras on its TensorFlow backend only")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("Keras runs on another backend here")
    ours = ResNet50(input_shape=SMALL, classes=6, classifier_activation=None)
    _randomize(ours, rng)
    theirs = keras.applications.ResNet50(weights=None, input_shape=SMALL, classes=6, classifier_activation=None)
    assert [(l.name, [tuple(w.shape) for w in l.get_weights()]) for l in theirs.layers[1:]] == \
        [(l.name, [w.shape for w in l.get_weights()]) for l in ours.layers[1:]]  # input names are counters
    for layer in ours.layers:
        if layer.get_weights():
            theirs.get_layer(layer.name).set_weights(layer.get_weights())
    x = rng.uniform(-1, 1, (2,) + SMALL).astype(np.float32)
    expected = np.asarray(theirs(x, training=False))
    _assert_close(_run(ours, x), expected, rtol=1e-4)
    try:
        from keras.src.legacy.saving import legacy_h5_format
    except ImportError:
        pytest.skip("this Keras has no legacy HDF5 writer")
    path = str(tmp_path / "keras_resnet50.h5")
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
    _assert_close(_run(ResNet50(input_shape=SMALL, classes=6, classifier_activation=None, weights=path), x),
                  expected, rtol=1e-4)
