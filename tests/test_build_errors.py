"""Layer build errors: a window larger than its (padded) input, a wrong input rank, sizes that do not match.

Each error is a ValueError raised while the model is built (symbolic Functional inputs, a Sequential built from
its first batch, or a layer's first eager call), naming the layer, the argument and the input shape, the same
on every engine (no engine may return an empty array instead). The valid edge cases still compute Keras's
results. Known sizes only: a None dimension is never checked.
"""

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops

SHAPE = r"\((None|2), {}\)"  # an input shape as the message prints it: batch None (symbolic) or 2 (eager)


def _shape(*sizes):
    return SHAPE.format(", ".join(str(s) for s in sizes))


# case: (factory of the layer from a layers module, mlfront's or Keras's; sample shape without the batch axis;
#        message pattern; whether Keras 3 refuses it too)
SINGLE_INPUT = {
    "conv1d_kernel": (lambda L: L.Conv1D(2, 5, name="c1"), (3, 1),
                      rf"Conv1D 'c1'.*zero or negative.*\(0,\).*{_shape(3, 1)}.*kernel_size=\(5,\)", True),
    "conv2d_kernel": (lambda L: L.Conv2D(2, 5, name="c2"), (3, 3, 1),
                      rf"Conv2D 'c2'.*zero or negative.*\(0, 0\).*{_shape(3, 3, 1)}.*kernel_size=\(5, 5\)"
                      r".*padding='valid'", True),
    "conv3d_kernel": (lambda L: L.Conv3D(2, 3, name="c3"), (2, 4, 4, 1),
                      rf"Conv3D 'c3'.*zero or negative.*\(0, 2, 2\).*{_shape(2, 4, 4, 1)}.*kernel_size", True),
    "conv2d_dilation": (lambda L: L.Conv2D(2, 3, dilation_rate=2, name="c2d"), (4, 5, 1),
                        rf"Conv2D 'c2d'.*zero or negative.*\(0, 1\).*{_shape(4, 5, 1)}.*dilation_rate=\(2, 2\)",
                        True),
    "conv2d_strides": (lambda L: L.Conv2D(2, 3, strides=2, name="c2s"), (2, 3, 1),
                       rf"Conv2D 'c2s'.*zero or negative.*\(0, 1\).*{_shape(2, 3, 1)}.*strides=\(2, 2\)", True),
    "conv2d_channels_first": (lambda L: L.Conv2D(2, 4, data_format="channels_first", name="c2f"), (1, 5, 3),
                              rf"Conv2D 'c2f'.*zero or negative.*\(2, 0\).*{_shape(1, 5, 3)}", True),
    # Keras returns a zero-length output here; mlfront refuses it like every other empty output
    "conv2d_transpose_output_padding": (
        lambda L: L.Conv2DTranspose(2, 2, padding="same", output_padding=0, name="ct"), (1, 1, 1),
        rf"Conv2DTranspose 'ct'.*zero or negative.*\(0, 0\).*{_shape(1, 1, 1)}.*output_padding=\(0, 0\)", False),
    "max_pool1d": (lambda L: L.MaxPooling1D(4, name="mp1"), (3, 2),
                   rf"MaxPooling1D 'mp1'.*zero or negative.*{_shape(3, 2)}.*pool_size=\(4,\)", True),
    "max_pool2d": (lambda L: L.MaxPooling2D(4, name="mp2"), (3, 3, 1),
                   rf"MaxPooling2D 'mp2'.*zero or negative.*{_shape(3, 3, 1)}.*pool_size=\(4, 4\)", True),
    "max_pool3d": (lambda L: L.MaxPooling3D(3, name="mp3"), (3, 2, 3, 1),
                   rf"MaxPooling3D 'mp3'.*zero or negative.*\(1, 0, 1\).*{_shape(3, 2, 3, 1)}.*pool_size", True),
    "avg_pool1d": (lambda L: L.AveragePooling1D(4, name="ap1"), (3, 2),
                   rf"AveragePooling1D 'ap1'.*zero or negative.*{_shape(3, 2)}.*pool_size=\(4,\)", True),
    "avg_pool2d_strides": (lambda L: L.AveragePooling2D(3, strides=1, name="ap2"), (2, 5, 1),
                           rf"AveragePooling2D 'ap2'.*zero or negative.*\(0, 3\).*{_shape(2, 5, 1)}"
                           r".*strides=\(1, 1\)", True),
    "avg_pool3d": (lambda L: L.AveragePooling3D(2, name="ap3"), (2, 2, 1, 1),
                   rf"AveragePooling3D 'ap3'.*zero or negative.*\(1, 1, 0\).*{_shape(2, 2, 1, 1)}", True),
    "cropping1d": (lambda L: L.Cropping1D((2, 2), name="cr1"), (3, 2),
                   rf"Cropping1D 'cr1'.*zero or negative.*\(-1,\).*{_shape(3, 2)}.*cropping=\(2, 2\)", True),
    "cropping2d": (lambda L: L.Cropping2D(((2, 1), (0, 0)), name="cr2"), (3, 4, 1),
                   rf"Cropping2D 'cr2'.*zero or negative.*\(0, 4\).*{_shape(3, 4, 1)}.*cropping", True),
    "cropping3d": (lambda L: L.Cropping3D(1, name="cr3"), (2, 4, 4, 1),
                   rf"Cropping3D 'cr3'.*zero or negative.*\(0, 2, 2\).*{_shape(2, 4, 4, 1)}.*cropping", True),
    "reshape_size": (lambda L: L.Reshape((4,), name="rs"), (3,),
                     r"Reshape 'rs'.*total size must be unchanged.*\(3,\).*\(4,\)", True),
    "reshape_inferred": (lambda L: L.Reshape((-1, 4), name="rsi"), (3, 2),
                         r"Reshape 'rsi'.*total size must be unchanged.*\(3, 2\).*\(-1, 4\)", True),
    "conv2d_rank": (lambda L: L.Conv2D(2, 3, name="c2r"), (3,),
                    rf"Conv2D 'c2r'.*expected ndim=4.*found ndim=2.*{_shape(3)}", True),
    "conv1d_rank": (lambda L: L.Conv1D(2, 3, name="c1r"), (3, 4, 1),
                    rf"Conv1D 'c1r'.*expected ndim=3.*found ndim=4.*{_shape(3, 4, 1)}", True),
    "pool_rank": (lambda L: L.MaxPooling2D(name="mpr"), (4, 4),
                  rf"MaxPooling2D 'mpr'.*expected ndim=4.*found ndim=3.*{_shape(4, 4)}", True),
    "global_pool_rank": (lambda L: L.GlobalAveragePooling2D(name="gpr"), (4, 4),
                         rf"GlobalAveragePooling2D 'gpr'.*expected ndim=4.*found ndim=3.*{_shape(4, 4)}", True),
    "cropping_rank": (lambda L: L.Cropping2D(1, name="crr"), (4, 4),
                      rf"Cropping2D 'crr'.*expected ndim=4.*found ndim=3.*{_shape(4, 4)}", True),
    "upsampling_rank": (lambda L: L.UpSampling1D(name="upr"), (4,),
                        rf"UpSampling1D 'upr'.*expected ndim=3.*found ndim=2.*{_shape(4)}", True),
    "lstm_rank": (lambda L: L.LSTM(2, name="lstm_r"), (3,),
                  rf"LSTM 'lstm_r'.*expected ndim=3.*found ndim=2.*{_shape(3)}", True),
    "gru_rank": (lambda L: L.GRU(2, name="gru_r"), (3, 2, 2),
                 rf"GRU 'gru_r'.*expected ndim=3.*found ndim=4.*{_shape(3, 2, 2)}", True),
    "permute_rank": (lambda L: L.Permute((2, 1), name="pr"), (3,),
                     r"Permute 'pr'.*expected ndim=3.*found ndim=2", True),
    "repeat_vector_rank": (lambda L: L.RepeatVector(2, name="rvr"), (3, 2),
                           r"RepeatVector 'rvr'.*expected ndim=2.*found ndim=3", True),
}

# case: (factory of the layer from a layers module; sample shapes of the inputs; message pattern); Keras 3 refuses
# each of them too
MERGES = {
    "add": (lambda L: L.Add(name="m_add"), [(3,), (4,)], r"Add 'm_add'.*incompatible shapes.*3\).*4\)"),
    "subtract": (lambda L: L.Subtract(name="m_sub"), [(2, 3), (2, 4)],
                 r"Subtract 'm_sub'.*incompatible shapes.*2, 3\).*2, 4\)"),
    "multiply": (lambda L: L.Multiply(name="m_mul"), [(3,), (3,), (5,)],
                 r"Multiply 'm_mul'.*incompatible shapes.*5\)"),
    "average": (lambda L: L.Average(name="m_avg"), [(2, 3), (4, 3)], r"Average 'm_avg'.*incompatible shapes"),
    "maximum": (lambda L: L.Maximum(name="m_max"), [(3,), (2,)], r"Maximum 'm_max'.*incompatible shapes"),
    "minimum": (lambda L: L.Minimum(name="m_min"), [(3,), (2,)], r"Minimum 'm_min'.*incompatible shapes"),
    "concatenate": (lambda L: L.Concatenate(name="m_cat"), [(3, 2), (4, 3)],
                    r"Concatenate 'm_cat'.*every axis but the concatenation axis.*3, 2\).*4, 3\)"),
    "concatenate_axis1": (lambda L: L.Concatenate(axis=1, name="m_cat1"), [(3, 2), (4, 3)],
                          r"Concatenate 'm_cat1'.*every axis but the concatenation axis 1"),
    "dot": (lambda L: L.Dot(axes=1, name="m_dot"), [(3,), (4,)],
            r"Dot 'm_dot'.*contracted axes have different sizes \(3 != 4\)"),
    "dot_pair": (lambda L: L.Dot(axes=(1, 2), name="m_dot2"), [(3, 2), (2, 4)],
                 r"Dot 'm_dot2'.*contracted axes have different sizes \(3 != 4\)"),
}


@pytest.mark.parametrize("case", sorted(SINGLE_INPUT))
def test_symbolic_build_raises(case):
    make, shape, pattern, _ = SINGLE_INPUT[case]
    inputs = layers.Input(shape=shape)
    with pytest.raises(ValueError, match=pattern):
        make(layers)(inputs)


@pytest.mark.parametrize("case", sorted(SINGLE_INPUT))
def test_sequential_predict_raises(case):
    make, shape, pattern, _ = SINGLE_INPUT[case]
    model = mlfront.models.Sequential([make(layers)])
    with pytest.raises(ValueError, match=pattern):
        model.predict(np.zeros((2,) + shape, "float32"), verbose=0)


@pytest.mark.parametrize("case", sorted(SINGLE_INPUT))
def test_first_eager_call_raises(case):
    make, shape, pattern, _ = SINGLE_INPUT[case]
    layer = make(layers)
    with pytest.raises(ValueError, match=pattern):
        layer(ops.convert_to_tensor(np.zeros((2,) + shape, "float32")))
    assert not layer.weights  # refused before any weight was made


@pytest.mark.parametrize("case", sorted(MERGES))
def test_merge_errors_symbolic_and_eager(case):
    make, shapes, pattern = MERGES[case]
    with pytest.raises(ValueError, match=pattern):
        make(layers)([layers.Input(shape=s) for s in shapes])
    with pytest.raises(ValueError, match=pattern):
        make(layers)([ops.convert_to_tensor(np.ones((2,) + s, "float32")) for s in shapes])


def test_merge_error_in_functional_model_from_sequential_outputs():
    a, b = layers.Input(shape=(3,)), layers.Input(shape=(2,))
    with pytest.raises(ValueError, match=r"Add 'sum_ab'.*incompatible shapes.*\(None, 4\).*\(None, 2\)"):
        layers.Add(name="sum_ab")([layers.Dense(4)(a), b])


def test_dense_on_rank_1_input():
    with pytest.raises(ValueError, match=r"Dense 'd1'.*expected min_ndim=2.*found ndim=1.*\(None,\)"):
        layers.Dense(2, name="d1")(layers.Input(batch_shape=(None,)))
    with pytest.raises(ValueError, match=r"Dense 'd1e'.*expected min_ndim=2.*found ndim=1.*\(4,\)"):
        layers.Dense(2, name="d1e")(ops.convert_to_tensor(np.zeros(4, "float32")))


@pytest.mark.parametrize("make, pattern", [
    (lambda: layers.Reshape((-1, -1), name="r2"), r"Reshape 'r2'.*at most one -1.*\(-1, -1\)"),
    (lambda: layers.Reshape((0, 3), name="r0"), r"Reshape 'r0'.*positive integer.*\(0, 3\)"),
    (lambda: layers.Reshape((-2, 3), name="rn"), r"Reshape 'rn'.*positive integer.*\(-2, 3\)"),
    (lambda: layers.Permute((1, 3), name="pb"), r"Permute 'pb'.*permutation.*\(1, 3\)"),
    (lambda: layers.Permute((1, 1), name="pd"), r"Permute 'pd'.*permutation.*\(1, 1\)"),
    (lambda: layers.UpSampling2D(0, name="u0"), r"UpSampling2D 'u0'.*`size`.*positive.*\(0, 0\)"),
    (lambda: layers.UpSampling1D(-1, name="un"), r"UpSampling1D 'un'.*`size`.*-1"),
    (lambda: layers.Conv2D(2, 0, name="k0"), r"Conv2D 'k0'.*kernel_size.*positive"),
    (lambda: layers.Conv1D(2, 3, strides=0, name="s0"), r"Conv1D 's0'.*strides.*positive"),
    (lambda: layers.Conv2D(2, 3, dilation_rate=0, name="d0"), r"Conv2D 'd0'.*dilation_rate.*positive"),
    (lambda: layers.MaxPooling2D(0, name="p0"), r"MaxPooling2D 'p0'.*pool_size.*positive"),
    (lambda: layers.Cropping1D(-1, name="cn"), r"Cropping1D 'cn'.*`cropping`.*non-negative"),
])
def test_bad_arguments_refused_at_construction(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


@pytest.mark.parametrize("case", sorted(k for k, v in SINGLE_INPUT.items() if v[3]))
def test_keras_refuses_the_same_inputs(case):
    """An independent reference: Keras 3 also refuses each case (its own messages)."""
    keras = pytest.importorskip("keras")
    make, shape, _, _ = SINGLE_INPUT[case]
    with pytest.raises(ValueError):
        make(keras.layers)(keras.Input(shape=shape))


@pytest.mark.parametrize("case", sorted(MERGES))
def test_keras_refuses_the_same_merges(case):
    keras = pytest.importorskip("keras")
    make, shapes, _ = MERGES[case]
    with pytest.raises(ValueError):
        make(keras.layers)([keras.Input(shape=s) for s in shapes])


# ---------------------------------------------------------------------- valid edge cases
def _conv2d_reference(x, kernel, bias, pad):
    """Cross-correlation of NHWC `x` with an HWIO kernel after zero padding `pad` ((top, bottom), (left, right))."""
    x = np.pad(x, ((0, 0),) + tuple(pad) + ((0, 0),))
    kh, kw = kernel.shape[:2]
    rows, cols = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], rows, cols, kernel.shape[3]), np.float64)
    for i in range(rows):
        for j in range(cols):
            out[:, i, j] = np.einsum("nhwc,hwcf->nf", x[:, i:i + kh, j:j + kw], kernel)
    return out + bias


@pytest.mark.parametrize("kernel_size, padding, pad", [
    (3, "valid", ((0, 0), (0, 0))),  # kernel == input: output 1x1
    (5, "same", ((2, 2), (2, 2))),  # kernel > input: "same" pads (total 4, half before) and keeps 3x3
    (4, "same", ((1, 2), (1, 2))),  # even kernel: the odd padded cell goes after, as in Keras
])
def test_conv_edge_cases_compute_keras_results(kernel_size, padding, pad, rng):
    x = rng.normal(size=(2, 3, 3, 2)).astype("float32")
    inputs = layers.Input(shape=(3, 3, 2))
    conv = layers.Conv2D(4, kernel_size, padding=padding, bias_initializer="glorot_uniform")
    model = mlfront.models.Model(inputs, conv(inputs))
    expected = _conv2d_reference(x.astype(np.float64), *[w.astype(np.float64) for w in conv.get_weights()], pad)
    assert model.output_shape == (None,) + expected.shape[1:]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)


def test_causal_conv1d_and_transposed_conv_with_a_kernel_larger_than_the_input(rng):
    x = rng.normal(size=(2, 3, 1)).astype("float32")
    model = mlfront.models.Sequential([layers.Conv1D(2, 5, padding="causal", name="causal")])
    assert model.predict(x, verbose=0).shape == (2, 3, 2)
    transposed = layers.Conv2DTranspose(2, 5)  # valid: (input - 1) * stride + kernel_size = 7
    assert tuple(ops.shape(transposed(ops.convert_to_tensor(rng.normal(size=(2, 3, 3, 1)).astype("float32"))))) == \
        (2, 7, 7, 2)


def test_pooling_edge_cases(rng):
    x = rng.normal(size=(2, 3, 3, 2)).astype("float32")
    tensor = ops.convert_to_tensor(x)
    # pool == input: one window over everything; "same" with a pool larger than the input: one window of the
    # real cells only (padding never counts, as in Keras)
    for layer in (layers.MaxPooling2D(3), layers.MaxPooling2D(4, padding="same")):
        np.testing.assert_allclose(ops.convert_to_numpy(layer(tensor)), x.max(axis=(1, 2), keepdims=True))
    for layer in (layers.AveragePooling2D(3), layers.AveragePooling2D(5, strides=3, padding="same")):
        np.testing.assert_allclose(ops.convert_to_numpy(layer(tensor)), x.mean(axis=(1, 2), keepdims=True),
                                   rtol=1e-5, atol=1e-6)
    assert layers.MaxPooling1D(4, padding="same").compute_output_shape((None, 3, 2)) == (None, 1, 2)


def test_cropping_leaving_one_cell_and_unknown_sizes_are_not_checked(rng):
    x = rng.normal(size=(2, 3, 2)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(layers.Cropping1D((1, 1))(ops.convert_to_tensor(x))), x[:, 1:2])
    # None dimensions are never checked: they are known only when data arrives
    assert layers.Conv2D(2, 5)(layers.Input(shape=(None, None, 1))).shape == (None, None, None, 2)
    assert layers.MaxPooling1D(9)(layers.Input(shape=(None, 1))).shape == (None, None, 1)
    assert layers.Cropping1D((4, 4))(layers.Input(shape=(None, 1))).shape == (None, None, 1)
    assert layers.Reshape((-1, 4))(layers.Input(shape=(None, 3))).shape == (None, None, 4)
    assert layers.Flatten()(layers.Input(shape=(None, 3))).shape == (None, None)
    assert layers.Add()([layers.Input(shape=(None, 3)), layers.Input(shape=(5, 3))]).shape == (None, 5, 3)
    assert layers.Concatenate(axis=1)([layers.Input(shape=(None, 3)), layers.Input(shape=(5, 3))]).shape == \
        (None, None, 3)


def test_broadcast_merges_and_float_embedding_inputs_still_work():
    a = ops.convert_to_tensor(np.arange(6, dtype="float32").reshape(2, 3))
    b = ops.convert_to_tensor(np.ones((2, 1), "float32"))
    np.testing.assert_allclose(ops.convert_to_numpy(layers.Add()([a, b])), np.arange(6).reshape(2, 3) + 1)
    embedding = layers.Embedding(5, 2)
    indices = np.array([[1.0, 4.0]], "float32")  # float indices are cast, as in Keras
    out = ops.convert_to_numpy(embedding(ops.convert_to_tensor(indices)))
    np.testing.assert_allclose(out, embedding.get_weights()[0][[[1, 4]]])


@pytest.mark.parametrize("make", [lambda: layers.Conv2D(2, 5), lambda: layers.MaxPooling2D(5),
                                  lambda: layers.AveragePooling2D(4, strides=1)])
def test_unknown_sizes_are_checked_on_the_data_that_arrives(make):
    """An Input of shape (None, None, c) cannot be checked at build; the first call on too small data is."""
    inputs = mlfront.Input((None, None, 1))
    model = mlfront.Model(inputs, make()(inputs))
    assert model.predict(np.ones((2, 6, 6, 1), "float32"), verbose=0).shape[1] >= 1
    with pytest.raises(ValueError, match="zero or negative"):
        model.predict(np.ones((2, 3, 3, 1), "float32"), verbose=0)
