"""Smoke test of benchmarks/: on the engine of MLFRONT_BACKEND, every workload's mlfront model and that engine's
hand-written loops run a step or two in --quick sizes and give finite positive measures, and the raw MLP computes
the same loss (and the same step of Adam) as mlfront's from identical initial weights, checked against NumPy."""

import importlib.util
import math
import os
import sys

import numpy as np
import pytest

import mlfront

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
import workloads  # noqa: E402

ENGINE = mlfront.backend()
MEASURES = ("steps_per_second", "predict_latency_s", "predict_samples_per_second", "first_step_s", "peak_rss_mib")


def tiny(workload):
    """--quick sizes cut further: one-step epochs (a warm-up and a timed one), one sample to predict (so one
    compiled predict shape)."""
    cfg = workloads.config(workload, "quick")
    cfg.update(batch=8, steps=1, epochs=1, latency_calls=2, predict_samples=1, predict_batch=1)
    return cfg


def check_measures(result):
    for key in MEASURES:
        value = result[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, (key, value)


@pytest.mark.parametrize("workload", workloads.WORKLOADS)
def test_mlfront_workload_measures(workload):
    check_measures(workloads.framework_worker(mlfront, workload, tiny(workload)))


@pytest.mark.parametrize("workload", workloads.WORKLOADS)
def test_raw_workload_measures(workload, monkeypatch):
    module = workloads.raw_module(ENGINE)
    # every variant of the MLP; the first variant of the others (the variants share their model code)
    if workload != "mlp":
        monkeypatch.setitem(module.VARIANTS, workload, module.VARIANTS[workload][:1])
    result = workloads.raw_worker(ENGINE, workload, tiny(workload))
    check_measures(result)
    assert set(result["variants"]) == set(module.VARIANTS[workload])
    assert result["best_variant"] in result["variants"]
    assert result["steps_per_second"] == max(result["variants"].values())


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="Keras 3 is not installed")
def test_keras_workload_measures(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", ENGINE)
    import keras
    if keras.backend.backend() != ENGINE:
        pytest.skip(f"keras already imported on {keras.backend.backend()}, not {ENGINE}")
    check_measures(workloads.framework_worker(keras, "mlp", tiny("mlp")))


def numpy_mlp_loss(weights, x, y):
    h = x.astype("float64")
    for i in range(0, len(weights), 2):
        h = h @ weights[i] + weights[i + 1]
        if i < len(weights) - 2:
            h = np.maximum(h, 0)
    h = h - h.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(h).sum(axis=1)) - h[np.arange(len(y)), y]))


def test_raw_mlp_computes_what_mlfront_computes():
    cfg = tiny("mlp")
    x, y = workloads.make_data("mlp", cfg["batch"] * cfg["steps"])
    xb, yb = x[:cfg["batch"]], y[:cfg["batch"]]
    model = workloads.build_model(mlfront, "mlp")
    workloads.compile_model(mlfront, model, "mlp")
    weights = [np.asarray(w) for w in model.get_weights()]
    module = workloads.raw_module(ENGINE)
    run = module.Run("mlp", module.VARIANTS["mlp"][0], cfg, x, y, weights=weights)

    reference = numpy_mlp_loss(weights, xb, yb)
    assert model.evaluate(xb, yb, batch_size=len(xb), verbose=0) == pytest.approx(reference, rel=1e-5)
    assert run.loss(xb, yb) == pytest.approx(reference, rel=1e-5)
    np.testing.assert_allclose(run.predict(xb), model.predict(xb, verbose=0), rtol=1e-4, atol=1e-5)

    # One Adam(1e-3) step on the same batch lowers both losses by the same amount. Not to the last digit: Keras
    # (and the hand TF loop) add epsilon to sqrt(v) before the bias correction, torch and optax after it.
    model.train_on_batch(xb, yb)
    run.train_on_batch(xb, yb)
    stepped = [np.asarray(w) for w in model.get_weights()]
    drop = reference - numpy_mlp_loss(stepped, xb, yb)
    assert drop > 0.01
    assert reference - run.loss(xb, yb) == pytest.approx(drop, rel=0.02)
