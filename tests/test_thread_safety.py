"""Inference from several threads at once: 3 threads calling `predict` and `model(x)` on one model, on different
inputs (and batch sizes), get what one thread gets, and what NumPy computes from the weights.

The threads start together, on a model that has made one call on each input first. The last test starts from a
fresh model and holds its first predict (which traces the compiled step on jax and tensorflow) open while the
other threads call the model.
"""

import threading

import numpy as np
import pytest

import mlfront
from mlfront import layers
from references import core as ref

THREADS, ROUNDS, FEATURES = 3, 5, 6
BATCH_SIZES = (1, 4, 7)  # one per thread: each new shape is a new trace on jax and tensorflow


def thread_inputs(rng):
    return [rng.normal(size=(size, FEATURES)).astype("float32") for size in BATCH_SIZES]


def run_threads(work, inputs):
    """`work(x)` ROUNDS times in each of THREADS threads at once (thread t on inputs[t]); the results per thread,
    with any exception a thread raised re-raised here."""
    barrier = threading.Barrier(THREADS)
    results, errors = [[] for _ in inputs], []

    def target(index):
        try:
            barrier.wait()
            for _ in range(ROUNDS):
                results[index].append(work(inputs[index]))
        except BaseException as err:  # noqa: B036 - reported in the main thread
            errors.append(err)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a predicting thread did not finish within 60 s"
    if errors:
        raise errors[0]
    return results


def direct(model):
    B = mlfront.backend.get()
    return lambda x: B.to_numpy(model(x))


def predict(model):
    return lambda x: model.predict(x, verbose=0)


def mixed(model):
    """predict in the threads with the first two inputs, direct calls in the thread with the last one."""
    B = mlfront.backend.get()
    return lambda x: B.to_numpy(model(x)) if len(x) == BATCH_SIZES[-1] else model.predict(x, verbose=0)


def check_threads(work, inputs, expected):
    """After one call on each input here, every thread's every result equals one thread's result and the NumPy
    reference."""
    for x in inputs:
        work(x)
    per_thread = run_threads(work, inputs)
    for x, outputs, reference in zip(inputs, per_thread, expected):
        alone = work(x)
        np.testing.assert_allclose(alone, reference, rtol=1e-5, atol=1e-6)
        for output in outputs:
            np.testing.assert_allclose(output, alone, rtol=1e-6, atol=1e-6)


def mlp(dropout=False, extra=None):
    stack = [mlfront.Input((FEATURES,)), layers.Dense(16, activation="relu")]
    stack += ([layers.Dropout(0.5)] if dropout else []) + ([extra] if extra is not None else [])
    model = mlfront.Sequential(stack + [layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def mlp_reference(model, x):
    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    (k1, b1), (k2, b2) = (layer.get_weights() for layer in dense)
    return ref.dense(ref.dense(x, k1, b1, "relu"), k2, b2, "softmax")


@pytest.mark.parametrize("call", [predict, direct], ids=["predict", "model(x)"])
@pytest.mark.parametrize("dropout", [False, True], ids=["mlp", "dropout"])
def test_threads_match_one_thread(rng, call, dropout):
    model = mlp(dropout)
    inputs = thread_inputs(rng)
    check_threads(call(model), inputs, [mlp_reference(model, x) for x in inputs])


def test_predict_and_direct_calls_mixed(rng):
    """predict in two threads while a third calls the model directly: tracing must not leak into eager calls."""
    model = mlp()
    inputs = thread_inputs(rng)
    check_threads(mixed(model), inputs, [mlp_reference(model, x) for x in inputs])


def test_functional_model_threads(rng):
    inputs = mlfront.Input((FEATURES,))
    left = layers.Dense(5, activation="tanh", name="left")(inputs)
    right = layers.Dense(5, activation="relu", name="right")(inputs)
    joined = layers.Concatenate()([left, right])
    outputs = layers.Dense(2, name="head")(layers.Dropout(0.3)(joined))
    model = mlfront.Model(inputs, outputs)

    def reference(x):
        kl, bl = model.get_layer("left").get_weights()
        kr, br = model.get_layer("right").get_weights()
        kh, bh = model.get_layer("head").get_weights()
        hidden = np.concatenate([ref.dense(x, kl, bl, "tanh"), ref.dense(x, kr, br, "relu")], axis=-1)
        return ref.dense(hidden, kh, bh)

    xs = thread_inputs(rng)
    check_threads(predict(model), xs, [reference(x) for x in xs])
    check_threads(direct(model), xs, [reference(x) for x in xs])


class Gate(layers.Layer):
    """Passes its input through; once armed, its next call (the first trace of a fresh model's predict step on
    jax and tensorflow) signals `entered` and stays open until `release` is set, as a large model's slow trace
    would, so that other threads run while it is open."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.entered, self.release, self._armed, self._lock = threading.Event(), threading.Event(), False, \
            threading.Lock()

    def arm(self):
        self._armed = True

    def call(self, inputs):
        with self._lock:
            hold, self._armed = self._armed, False
        if hold:
            self.entered.set()
            self.release.wait(timeout=10)
        return inputs


# On jax and tensorflow the compiled step runs the model once while tracing, with the model's Variables bound to
# the trace's placeholders; those bindings are private to the tracing thread (`variables.private_values`), so a
# thread that reads the Variables meanwhile (its own predict, or an eager `model(x)`) sees the real weights.
def test_calls_while_another_thread_traces(rng):
    """A fresh model's first predict (in thread 1) is held open while thread 2 predicts and thread 3 calls the
    model directly; all three get the NumPy results, and the model predicts correctly afterwards."""
    gate = Gate()
    model = mlp(extra=gate)
    inputs = thread_inputs(rng)
    B = mlfront.backend.get()
    results, errors = [None] * THREADS, []

    def work(index, fn):
        try:
            if index:
                assert gate.entered.wait(timeout=10), "the first predict never reached the model"
            results[index] = fn(inputs[index])
        except BaseException as err:  # noqa: B036 - reported in the main thread
            errors.append(err)

    gate.arm()
    calls = [predict(model), predict(model), lambda x: B.to_numpy(model(x))]
    threads = [threading.Thread(target=work, args=(i, fn)) for i, fn in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join(timeout=1.0)  # a reader may wait for the open trace (an engine's lock): it runs after release
    gate.release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread did not finish within 60 s"
    if errors:
        raise errors[0]
    for x, result in zip(inputs, results):
        np.testing.assert_allclose(result, mlp_reference(model, x), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.predict(x, verbose=0), result, rtol=1e-6, atol=1e-6)
