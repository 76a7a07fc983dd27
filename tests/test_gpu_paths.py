"""The adapters' accelerator paths: weights, batches and outputs on the GPU, pinned non-blocking batch copies
(torch), fused recurrent kernels equal to the composites there, and training equal to a NumPy reference.

Every test here skips unless the env's engine sees a GPU (run them on a lent GPU machine, with
`benchmarks/gpu.sh` for the speed table); on a CPU-only machine the whole module is skipped.
"""

import numpy as np
import pytest

import mlfront
from mlfront import layers, ops

ENGINE = mlfront.backend()


def _engine_sees_a_gpu():
    if ENGINE == "torch":
        import torch
        return torch.cuda.is_available()
    if ENGINE == "jax":
        import jax
        return any(device.platform == "gpu" for device in jax.devices())
    if ENGINE == "tensorflow":
        import tensorflow as tf
        return bool(tf.config.list_physical_devices("GPU"))
    return False


pytestmark = pytest.mark.skipif(not _engine_sees_a_gpu(), reason=f"{ENGINE} sees no GPU")


def _on_gpu(array):
    if ENGINE == "torch":
        return array.device.type == "cuda"
    if ENGINE == "jax":
        return all(device.platform == "gpu" for device in array.devices())
    return "GPU" in array.device


def test_weights_batches_and_outputs_live_on_the_gpu():
    from mlfront import backend as backend_module
    B = backend_module.get()
    batch = B.prepare_batch(np.ones((4, 3), "float32"))
    assert ENGINE == "jax" or _on_gpu(batch)  # jax hands NumPy to the jitted step, which moves it in C++
    layer = layers.Dense(2)
    out = layer(ops.convert_to_tensor(np.ones((4, 3), "float32")))
    assert _on_gpu(layer.kernel.value) and _on_gpu(out)


def test_one_sgd_step_on_the_gpu_equals_numpy():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    model = mlfront.Sequential([mlfront.Input(shape=(3,)), layers.Dense(1)])
    model.compile(optimizer=mlfront.optimizers.SGD(0.1), loss="mse")
    kernel, bias = [w.astype("float64") for w in model.get_weights()]
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    error = x @ kernel + bias - y
    expected_kernel = kernel - 0.1 * 2 * x.T @ error / 8
    np.testing.assert_allclose(model.get_weights()[0], expected_kernel, atol=1e-5)


@pytest.mark.parametrize("layer_class", [layers.LSTM, layers.GRU])
def test_fused_recurrent_kernels_equal_the_composite_on_the_gpu(layer_class):
    x = np.random.default_rng(1).normal(size=(4, 7, 3)).astype("float32")
    fused = layer_class(5, return_sequences=True)
    composite = layer_class(5, return_sequences=True, activation=lambda v: mlfront.activations.tanh(v))
    fused(ops.convert_to_tensor(x))
    composite(ops.convert_to_tensor(x))
    composite.set_weights(fused.get_weights())
    np.testing.assert_allclose(ops.convert_to_numpy(fused(ops.convert_to_tensor(x))),
                               ops.convert_to_numpy(composite(ops.convert_to_tensor(x))), atol=1e-4)
