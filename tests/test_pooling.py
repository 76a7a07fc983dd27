"""Pooling layers, global pooling (with masks) and the spatial layers (ZeroPadding, Cropping, UpSampling)."""

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops
from references import conv as ref
from layer_testing import run_layer_test

RTOL, ATOL = 1e-5, 1e-6


def _cf(x):
    return np.moveaxis(x, -1, 1)


def _cl(x):
    return np.moveaxis(x, 1, -1)


def _in_format(fn, data_format):
    """Wrap a channels_last reference so it reads and writes `data_format`."""
    if data_format == "channels_last":
        return fn
    return lambda x: _cf(fn(_cl(x)))


POOL2D_CASES = [
    # pool_size, strides, padding, data_format
    ((2, 2), None, "valid", "channels_last"),
    ((2, 2), None, "same", "channels_last"),  # odd input: a padded row/column at the bottom/right
    ((3, 3), (2, 2), "same", "channels_last"),
    ((2, 2), (1, 1), "same", "channels_last"),
    ((3, 2), (2, 1), "valid", "channels_last"),
    ((2, 2), None, "same", "channels_first"),
]


@pytest.mark.parametrize("kind, layer_class", [("max", layers.MaxPooling2D), ("avg", layers.AveragePooling2D)])
@pytest.mark.parametrize("pool_size, strides, padding, data_format", POOL2D_CASES)
def test_pooling2d_matches_reference(rng, kind, layer_class, pool_size, strides, padding, data_format):
    x = rng.normal(size=(2, 5, 7, 3)).astype("float32")
    reference = _in_format(lambda v: ref.pool(v, pool_size, strides, padding, kind), data_format)
    x = _cf(x) if data_format == "channels_first" else x
    layer, y = run_layer_test(layer_class, dict(pool_size=pool_size, strides=strides, padding=padding,
                                                data_format=data_format),
                              x, expected_output=reference(x), rtol=RTOL, atol=ATOL,
                              expected_num_trainable_weights=0)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + y.shape[1:]


@pytest.mark.parametrize("kind, layer_class", [("max", layers.MaxPooling1D), ("avg", layers.AveragePooling1D)])
@pytest.mark.parametrize("pool_size, strides, padding", [(2, None, "valid"), (2, None, "same"), (3, 2, "same"),
                                                         (4, 1, "same")])
def test_pooling1d_matches_reference(rng, kind, layer_class, pool_size, strides, padding):
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    run_layer_test(layer_class, dict(pool_size=pool_size, strides=strides, padding=padding), x,
                   expected_output=ref.pool(x, pool_size, strides, padding, kind), rtol=RTOL, atol=ATOL)


def test_average_pooling_same_leaves_padding_out_of_the_mean():
    """A constant image stays constant under "same" average pooling (padded zeros would pull edges down)."""
    x = np.full((1, 3, 3, 1), 2.0, "float32")
    y = ops.convert_to_numpy(layers.AveragePooling2D(2, strides=2, padding="same")(ops.convert_to_tensor(x)))
    np.testing.assert_allclose(y, np.full((1, 2, 2, 1), 2.0), rtol=RTOL)


def test_pooling3d_matches_reference(rng):
    x = rng.normal(size=(1, 3, 4, 5, 2)).astype("float32")
    for kind, layer_class in (("max", layers.MaxPooling3D), ("avg", layers.AveragePooling3D)):
        run_layer_test(layer_class, dict(pool_size=2, padding="same"), x,
                       expected_output=ref.pool(x, 2, 2, "same", kind), expected_output_shape=(1, 2, 2, 3, 2))


@pytest.mark.parametrize("op", ["max_pool", "average_pool"])
@pytest.mark.parametrize("pool_size, strides, padding", [((2, 2), (2, 2), "same"), ((3, 2), (2, 1), "valid")])
def test_pooling_gradients(rng, op, pool_size, strides, padding):
    x = rng.permutation(40).reshape(1, 5, 4, 2).astype("float32") / 10  # distinct values: no ties for max
    weights = rng.normal(size=ref.pool(x, pool_size, strides, padding).shape)
    kind = "max" if op == "max_pool" else "avg"

    def loss(params):
        y = getattr(ops, op)(params[0], pool_size, strides, padding)
        return ops.sum(y * ops.convert_to_tensor(weights.astype("float32")))

    _, (grad,) = mlfront.value_and_grad(loss)([ops.convert_to_tensor(x)])
    expected = ref.numeric_grad(lambda v: np.sum(ref.pool(v, pool_size, strides, padding, kind) * weights), x,
                                eps=1e-3)
    np.testing.assert_allclose(ops.convert_to_numpy(grad), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind, layer_class", [("avg", layers.GlobalAveragePooling2D),
                                               ("max", layers.GlobalMaxPooling2D)])
@pytest.mark.parametrize("data_format, keepdims", [("channels_last", False), ("channels_last", True),
                                                   ("channels_first", False), ("channels_first", True)])
def test_global_pooling2d(rng, kind, layer_class, data_format, keepdims):
    x = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    reference = _in_format(lambda v: ref.global_pool(v, kind, keepdims=keepdims), data_format) if keepdims \
        else (lambda v: ref.global_pool(_cl(v) if data_format == "channels_first" else v, kind))
    x = _cf(x) if data_format == "channels_first" else x
    run_layer_test(layer_class, dict(data_format=data_format, keepdims=keepdims), x,
                   expected_output=reference(x), rtol=RTOL, atol=ATOL)


MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)


@pytest.mark.parametrize("kind, layer_class", [("avg", layers.GlobalAveragePooling1D),
                                               ("max", layers.GlobalMaxPooling1D)])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("data_format, keepdims", [("channels_last", False), ("channels_first", True)])
def test_global_pooling1d_with_mask(rng, kind, layer_class, masked, data_format, keepdims):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    x[~MASK] = 100.0  # padded steps hold large values: they must not leak into the result
    mask = MASK if masked else None
    expected = ref.global_pool(x, kind, mask=mask, keepdims=keepdims)
    if data_format == "channels_first":
        x, expected = _cf(x), (_cf(expected) if keepdims else expected)
    layer, _ = run_layer_test(layer_class, dict(data_format=data_format, keepdims=keepdims), x,
                              expected_output=expected, rtol=RTOL, atol=ATOL,
                              call_kwargs={"mask": mask} if masked else None)
    assert layer.supports_masking and layer.compute_mask(x, mask) is None


def test_global_pooling_follows_an_embedding_mask(rng):
    tokens = np.array([[3, 1, 0, 0], [2, 2, 5, 0]], "int32")
    model = mlfront.Sequential([layers.Input(shape=(4,), dtype="int32"), layers.Embedding(6, 3, mask_zero=True),
                                layers.GlobalAveragePooling1D()])
    vectors = model.layers[0].get_weights()[0][tokens]
    expected = ref.global_pool(vectors, "avg", mask=tokens != 0)
    np.testing.assert_allclose(ops.convert_to_numpy(model(ops.convert_to_tensor(tokens))), expected, rtol=RTOL,
                               atol=ATOL)


# ---------------------------------------------------------------------- spatial layers

@pytest.mark.parametrize("padding, pairs", [(1, ((1, 1), (1, 1))), ((2, 1), ((2, 2), (1, 1))),
                                            (((0, 2), (1, 0)), ((0, 2), (1, 0)))])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_zero_padding2d(rng, padding, pairs, data_format):
    x = rng.normal(size=(2, 3, 4, 2)).astype("float32")
    reference = _in_format(lambda v: np.pad(v, ((0, 0),) + pairs + ((0, 0),)), data_format)
    x = _cf(x) if data_format == "channels_first" else x
    run_layer_test(layers.ZeroPadding2D, dict(padding=padding, data_format=data_format), x,
                   expected_output=reference(x))


def test_zero_padding1d_and_cropping(rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    run_layer_test(layers.ZeroPadding1D, dict(padding=(2, 1)), x, expected_output=np.pad(x, ((0, 0), (2, 1), (0, 0))))
    run_layer_test(layers.Cropping1D, dict(cropping=(1, 2)), x, expected_output=x[:, 1:3])
    x = rng.normal(size=(2, 5, 6, 3)).astype("float32")
    run_layer_test(layers.Cropping2D, dict(cropping=((1, 0), (2, 1))), x, expected_output=x[:, 1:, 2:5])
    run_layer_test(layers.Cropping2D, dict(cropping=1, data_format="channels_first"), x,
                   expected_output=x[:, :, 1:5, 1:2])
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping2D(cropping=(3, 0)).compute_output_shape((None, 5, 6, 3))


@pytest.mark.parametrize("size, interpolation, data_format", [
    ((2, 2), "nearest", "channels_last"), ((2, 3), "nearest", "channels_first"),
    ((2, 2), "bilinear", "channels_last"), ((3, 2), "bilinear", "channels_first")])
def test_upsampling2d(rng, size, interpolation, data_format):
    x = rng.normal(size=(2, 3, 4, 2)).astype("float32")
    fn = ref.upsample_nearest if interpolation == "nearest" else ref.upsample_bilinear_2d
    reference = _in_format(lambda v: fn(v, size), data_format)
    x = _cf(x) if data_format == "channels_first" else x
    layer, y = run_layer_test(layers.UpSampling2D, dict(size=size, interpolation=interpolation,
                                                        data_format=data_format), x, expected_output=reference(x))
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + y.shape[1:]


def test_upsampling1d_and_3d(rng):
    x = rng.normal(size=(2, 3, 2)).astype("float32")
    run_layer_test(layers.UpSampling1D, dict(size=3), x, expected_output=np.repeat(x, 3, axis=1))
    x = rng.normal(size=(1, 2, 3, 2, 2)).astype("float32")
    run_layer_test(layers.UpSampling3D, dict(size=(1, 2, 3)), x, expected_output=ref.upsample_nearest(x, (1, 2, 3)))


def test_upsampling_bilinear_gradient(rng):
    x = rng.normal(size=(1, 3, 2, 1)).astype("float32")
    weights = rng.normal(size=(1, 6, 4, 1))
    layer = layers.UpSampling2D(interpolation="bilinear")

    def loss(params):
        return ops.sum(layer(params[0]) * ops.convert_to_tensor(weights.astype("float32")))

    _, (grad,) = mlfront.value_and_grad(loss)([ops.convert_to_tensor(x)])
    expected = ref.numeric_grad(lambda v: np.sum(ref.upsample_bilinear_2d(v, (2, 2)) * weights), x)
    np.testing.assert_allclose(ops.convert_to_numpy(grad), expected, rtol=1e-4, atol=1e-5)


def test_aliases_and_defaults():
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D
    pool = layers.MaxPooling2D()
    assert pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
    assert layers.ZeroPadding2D().padding == ((1, 1), (1, 1))
    assert layers.UpSampling2D().size == (2, 2)


@pytest.mark.parametrize("make, message", [
    (lambda: layers.MaxPooling2D(padding="full"), "padding"),
    (lambda: layers.AveragePooling1D(pool_size=(2, 2)), "pool_size"),
    (lambda: layers.ZeroPadding2D(padding=(1, 2, 3)), "padding"),
    (lambda: layers.UpSampling1D(size=2, interpolation="bilinear"), "interpolation"),
    (lambda: layers.GlobalAveragePooling2D(data_format="NHWC"), "data_format"),
])
def test_invalid_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_pad_primitive_with_a_constant(rng):
    x = rng.normal(size=(2, 3, 2)).astype("float32")
    y = ops.pad(ops.convert_to_tensor(x), [(0, 0), (1, 2), (0, 1)], constant_values=-1.5)
    np.testing.assert_array_equal(ops.convert_to_numpy(y), np.pad(x, ((0, 0), (1, 2), (0, 1)), constant_values=-1.5))
