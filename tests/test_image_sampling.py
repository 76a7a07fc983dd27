"""The Backend's image sampling composites, `resize` and `affine_transform`, against per-pixel NumPy references
and Keras 3 (`keras.ops.image.affine_transform` and `Resizing` on the TensorFlow backend, stored in
`fixtures/preprocessing_layers.npz` by `fixtures/make_preprocessing_layer_fixtures.py`)."""

import os

import numpy as np
import pytest
from references import preprocessing as ref

import mlfront
from mlfront import ops

FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "preprocessing_layers.npz"))
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def fixture(name):
    return FIXTURES[name]


def numpy(x):
    return ops.convert_to_numpy(x)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("size", [(3, 4), (8, 10), (5, 2), (1, 1)])
def test_resize_matches_half_pixel_reference(rng, interpolation, size):
    images = rng.uniform(size=(2, 5, 7, 3)).astype("float32")
    got = numpy(ops.image.resize(ops.convert_to_tensor(images), size, interpolation))
    np.testing.assert_allclose(got, ref.resize(images, *size, interpolation), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_affine_transform_matches_per_pixel_reference(rng, fill_mode, interpolation):
    images = rng.uniform(size=(2, 5, 6, 2)).astype("float32")
    # coefficients that put no point exactly half-way between pixels (where float32 rounding would decide)
    transforms = np.array([[0.8312, -0.4671, 1.3157, 0.4093, 0.9277, -0.7149, 0.0, 0.0],
                           [2.3119, 0.1337, -6.1731, -0.1893, 1.8741, 4.0917, 0.0513, -0.0371]], "float32")
    got = numpy(ops.image.affine_transform(ops.convert_to_tensor(images), ops.convert_to_tensor(transforms),
                                     interpolation, fill_mode, 0.5))
    np.testing.assert_allclose(got, ref.affine_transform(images, transforms, interpolation, fill_mode, 0.5),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("tag", ["near", "far"])
def test_affine_transform_matches_keras(fill_mode, interpolation, tag):
    transforms = fixture("transforms" if tag == "near" else "transforms_far")
    got = numpy(ops.image.affine_transform(ops.convert_to_tensor(fixture("image_b")), ops.convert_to_tensor(transforms),
                                     interpolation, fill_mode, 0.5))
    np.testing.assert_allclose(got, fixture(f"affine_{tag}_{fill_mode}_{interpolation}"), rtol=1e-5, atol=1e-5)


def test_affine_transform_one_transform_for_the_whole_batch(rng):
    images = rng.uniform(size=(3, 4, 4, 1)).astype("float32")
    shift = np.array([1, 0, -1, 0, 1, 0, 0, 0], "float32")  # reads one column to the left
    got = numpy(ops.image.affine_transform(ops.convert_to_tensor(images), ops.convert_to_tensor(shift),
                                     "nearest", "constant", 0.0))
    np.testing.assert_array_equal(got[:, :, 1:], images[:, :, :-1])
    np.testing.assert_array_equal(got[:, :, 0], 0.0)


def test_resize_matches_keras_resizing():
    images = ops.convert_to_tensor(fixture("image"))
    for case, (size, interpolation) in enumerate([((3, 4), "bilinear"), ((8, 10), "bilinear"), ((3, 4), "nearest"),
                                                  ((8, 10), "nearest")]):
        np.testing.assert_allclose(numpy(ops.image.resize(images, size, interpolation)), fixture(f"resize_{case}"),
                                   rtol=1e-5, atol=1e-6)


def test_sampling_gradients_match_the_reference():
    # both ops are linear in the image: d sum(resize(warp(x))) / dx_ij is the reference applied to a unit image
    images = np.random.default_rng(0).uniform(size=(1, 4, 5, 1)).astype("float32")
    shift = np.array([[0.9, 0.1, 0.5, -0.05, 1.1, 0.25, 0, 0]], "float32")

    def total(params):
        warped = ops.image.affine_transform(params[0], ops.convert_to_tensor(shift), "bilinear", "reflect", 0.0)
        return ops.sum(ops.image.resize(warped, (3, 3), "bilinear"))
    _, grads = mlfront.value_and_grad(total)([ops.convert_to_tensor(images)])
    expected = np.zeros(images.shape)
    for index in np.ndindex(images.shape):
        unit = np.zeros(images.shape)
        unit[index] = 1.0
        expected[index] = ref.resize(ref.affine_transform(unit, shift, "bilinear", "reflect"), 3, 3).sum()
    np.testing.assert_allclose(numpy(grads[0]), expected, rtol=1e-5, atol=1e-5)
