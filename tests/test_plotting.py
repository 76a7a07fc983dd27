"""`mlfront.utils.plot_history`: loss and metric curves of a fit, drawn with matplotlib (Agg, no display)."""

import sys

import numpy as np
import pytest

import mlfront
from mlfront import layers

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def lines_by_label(axes):
    return {line.get_label(): line for line in axes.get_lines()}


def test_plot_history_of_a_fit(tmp_path, rng):
    x = rng.normal(size=(12, 3)).astype("float32")
    y = (x.sum(1, keepdims=True) > 0).astype("float32")
    model = mlfront.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=6, epochs=3, validation_split=0.5, verbose=0)
    path = tmp_path / "history.png"

    figure = mlfront.utils.plot_history(history, path=str(path))

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = figure.get_axes()
    assert [a.get_title() for a in axes] == ["loss", "accuracy"]
    for a, name in zip(axes, ["loss", "accuracy"]):
        lines = lines_by_label(a)
        assert set(lines) == {"training", "validation"}
        np.testing.assert_allclose(lines["training"].get_ydata(), history.history[name])
        np.testing.assert_allclose(lines["validation"].get_ydata(), history.history["val_" + name])
        np.testing.assert_array_equal(lines["training"].get_xdata(), [1, 2, 3])


def test_plot_history_of_a_dict_with_chosen_metrics(tmp_path):
    logs = {"loss": [3.0, 2.0, 1.5, 1.0], "mae": [1.0, 0.8, 0.7, 0.6], "val_mae": [1.1, 0.9, 0.9, 0.8],
            "f1_score": [np.array([0.1, 0.2])] * 4}  # per-class values are not a curve
    figure = mlfront.utils.plot_history(logs, metrics=["mae"])
    (axes,) = figure.get_axes()
    lines = lines_by_label(axes)
    np.testing.assert_allclose(lines["training"].get_ydata(), logs["mae"])
    np.testing.assert_allclose(lines["validation"].get_ydata(), logs["val_mae"])
    assert [a.get_title() for a in mlfront.utils.plot_history(logs).get_axes()] == ["loss", "mae"]
    assert not list(tmp_path.iterdir())  # nothing saved without a path


def test_plot_history_errors():
    with pytest.raises(ValueError, match=r"no per-epoch values for \['accuracy'\].*\['loss'\]"):
        mlfront.utils.plot_history({"loss": [1.0, 0.5]}, metrics=["accuracy"])
    with pytest.raises(TypeError, match="must be a History or a dict"):
        mlfront.utils.plot_history([1.0, 0.5])


def test_missing_matplotlib_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        mlfront.utils.plot_history({"loss": [1.0]})
