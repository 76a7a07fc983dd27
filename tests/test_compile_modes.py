"""`compile(jit_compile=...)`: "auto" (the engine's default), True (its strongest compiler: XLA on jax and
tensorflow, torch.compile on torch, with a warning and the default mode where it cannot), False, and the
modes the engine declares in `Backend.compile_modes`. Every mode trains to the same weights."""

import functools
import warnings

import numpy as np
import pytest

import mlfront
from mlfront import backend as _backend
from mlfront import layers


def mlp(jit_compile, dropout=0.0, seed=0):
    model = mlfront.Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(dropout),
                                layers.Dense(3)])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32") for w in model.get_weights()])
    model.compile(mlfront.optimizers.Adam(0.01), mlfront.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=jit_compile)
    return model


@pytest.fixture
def data(rng):
    x = rng.normal(size=(70, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")


def modes():
    return ["auto", True, False] + list(_backend.get().compile_modes)


@pytest.mark.parametrize("mode", modes(), ids=str)
def test_every_mode_trains_to_the_same_weights(data, mode):
    x, y = data
    reference = mlp("auto")
    reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)  # 16 * 4 + a last batch of 6
    model = mlp(mode)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "jit_compile", RuntimeWarning)  # these compile in every mode: no fallback
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert np.isfinite(history.history["loss"]).all()
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0), rtol=1e-4)
    np.testing.assert_allclose(model.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", [True] + list(_backend.get().compile_modes), ids=str)
def test_dropout_draws_a_new_mask_each_step_in_compiled_modes(data, mode):
    x, y = data
    model = mlp(mode, dropout=0.5)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    probe = mlfront.Sequential([layers.Input((6,)), layers.Dropout(0.5)])
    probe.compile("sgd", "mse", jit_compile=mode)
    ones = np.ones((64, 6), "float32")
    losses = [probe.train_on_batch(ones, np.zeros_like(ones)) for _ in range(3)]
    assert len(set(losses)) == 3  # a new mask each step
    assert all(1.6 < loss < 2.4 for loss in losses)  # E[(mask / keep)^2] = 1 / keep = 2 for rate 0.5
    np.testing.assert_array_equal(probe.predict(ones, verbose=0), ones)  # inference: no dropout


@pytest.mark.parametrize("bad", ["fast", "xla_gpu", 1.5, "torch"])
def test_unknown_mode_is_refused(bad):
    if bad in _backend.get().compile_modes:
        pytest.skip("a mode of this engine")
    model = mlfront.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"compile: `jit_compile` must be one of \['auto', True, False"):
        model.compile("sgd", "mse", jit_compile=bad)


# ---------------------------------------------------------------------- torch: one captured graph per signature
needs_torch = pytest.mark.skipif(_backend.get().name != "torch", reason="torch.compile is torch's compiler")


@needs_torch
def test_torch_compile_captures_the_whole_step_once_per_signature(data):
    from torch._dynamo.utils import counters
    x, y = data
    counters.clear()
    model = mlp("torch.compile", dropout=0.2)
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)  # full batches of 16 and a last one of 6
    assert counters["stats"]["unique_graphs"] == 2
    assert counters["frames"]["total"] == 2 and not counters["graph_break"]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert counters["stats"]["unique_graphs"] == 2  # no recompilation in a later fit


@needs_torch
def test_tensor_keys_split_like_integer_keys():
    import torch
    from mlfront_torch.backend import _int64, _splitmix64, _splitmix64_tensor
    B = _backend.get()
    for seed in [0, 1, 12345, 2 ** 62 + 7, 2 ** 63 - 1]:
        key = B.rng_key(seed)
        tensor_key = torch.tensor(_int64(key), dtype=torch.int64)
        for split, tensor_split in zip(B.rng_split(key, 3), B.rng_split(tensor_key, 3)):
            assert split == int(tensor_split)
        assert int(_splitmix64_tensor(tensor_key)) == _splitmix64(key)
    uniform = B.to_numpy(B.random_uniform(torch.tensor(5), (20000,)))
    assert 0.0 <= uniform.min() and uniform.max() < 1.0 and abs(uniform.mean() - 0.5) < 0.01
    normal = B.to_numpy(B.random_normal(torch.tensor(5), (20000,), mean=1.0, stddev=2.0))
    assert abs(normal.mean() - 1.0) < 0.05 and abs(normal.std() - 2.0) < 0.05


class ReadsItsInput(layers.Layer):
    """Branches in Python on a tensor value: no graph can hold that."""

    def call(self, inputs):
        return inputs * 2.0 if float(mlfront.ops.sum(inputs)) > 0 else inputs


@needs_torch
def test_a_step_torch_compile_cannot_capture_falls_back_with_a_warning(data):
    x, y = data
    model = mlfront.Sequential([layers.Input((6,)), ReadsItsInput(), layers.Dense(3)])
    model.compile("sgd", mlfront.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    with pytest.warns(RuntimeWarning, match="jit_compile=True: torch.compile cannot capture this model's step"):
        model.fit(x, y, batch_size=35, epochs=1, verbose=0)
    explicit = mlfront.Sequential([layers.Input((6,)), ReadsItsInput(), layers.Dense(3)])
    explicit.compile("sgd", mlfront.losses.SparseCategoricalCrossentropy(from_logits=True),
                     jit_compile="torch.compile")
    with pytest.raises(Exception):
        explicit.fit(x, y, batch_size=35, epochs=1, verbose=0)
    weights = explicit.get_weights()  # the model stays usable: real weights, callable eagerly
    assert all(np.isfinite(w).all() for w in weights)
    assert np.isfinite(np.asarray(explicit(x[:2]))).all()


def test_train_steps_reuse_the_memory_of_the_state_they_replace(data):
    """Backend.compile_donating: on jax the train (and test) steps donate the old state's buffers to the new state
    (from their second call on); predict keeps them. Two variables made to hold one array between fits still
    train, each on its own, to the numbers of variables given separate copies of it."""
    x, y = data
    tied, separate = mlp("auto", seed=1), mlp("auto", seed=1)
    for model in (tied, separate):
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    # the first kernel's Adam velocity set to its momentum: one array for both in `tied`, a copy in `separate`
    for model, share in ((tied, True), (separate, False)):
        momentum, velocity = [v for v in model.optimizer.variables if v.shape == (6, 16)]
        velocity.assign(momentum.value if share else np.array(momentum.numpy()))
    for model in (tied, separate):
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    trained = tied.layers[0].kernel.value
    tied.predict(x, verbose=0)
    assert tied.layers[0].kernel.value is trained  # predict hands over nothing
    for model in (tied, separate):
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    if _backend.get().name == "jax":  # (an array once read as NumPy, e.g. by get_weights, is copied instead)
        assert trained.is_deleted()
        with pytest.raises(RuntimeError, match="deleted"):
            np.asarray(trained)
    for a, b in zip(tied.get_weights(), separate.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(_backend.get().name != "tensorflow", reason="tensorflow's compiler choice for 'auto'")
def test_auto_on_tensorflow_is_xla_for_small_graphs_without_convolutions_that_xla_compiles(rng):
    import tensorflow as tf
    B = _backend.get()
    x, w = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")
    image, kernel = rng.normal(size=(1, 5, 5, 2)).astype("float32"), rng.normal(size=(3, 3, 2, 2)).astype("float32")

    def convolved_in_a_loop(image, kernel):  # the convolution only inside the loop's body function (as ConvLSTM)
        step = lambda i, y: (i + 1, tf.nn.conv2d(y, kernel, 1, "SAME"))  # noqa: E731
        return tf.while_loop(lambda i, y: i < 2, step, (0, image))[1]

    cases = {
        "dense": (lambda x, w: tf.nn.relu(x @ w), (x, w), np.maximum(x @ w, 0), True),
        "convolution": (lambda a, k: tf.nn.conv2d(a, k, 1, "SAME"), (image, kernel), None, False),
        "loop": (convolved_in_a_loop, (image, kernel), None, False),
        "large": (lambda x: functools.reduce(lambda y, _: y * 1.0001, range(500), x), (x,), x * 1.0001 ** 500,
                  False),  # 500 nodes: XLA's compile time would exceed what it saves on a first step
        "strings": (lambda x: tf.strings.to_number(tf.strings.as_string(x, precision=6)), (x,), x, False),
    }
    for name, (fn, args, expected, by_xla) in cases.items():  # expected None: the eager result
        compiled = B.compile(fn, "auto")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the fallback for an op without an XLA kernel is silent
            got = compiled(*map(tf.constant, args))
        np.testing.assert_allclose(got, fn(*map(tf.constant, args)) if expected is None else expected,
                                   rtol=1e-5, atol=1e-5, err_msg=name)
        (concrete,) = compiled.concrete.values()
        assert concrete.function_def.attr["_XlaMustCompile"].b is by_xla, name
