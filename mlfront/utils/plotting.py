"""Training curves: `plot_history(history)` draws the loss and metrics of a fit, per epoch, with matplotlib."""

import numpy as np


def _import_matplotlib():
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as error:
        raise ImportError("mlfront.utils.plot_history needs matplotlib, which is not installed; install it with "
                          "`pip install matplotlib`.") from error
    return Figure, MaxNLocator


def plot_history(history, path=None, metrics=None):
    """Draw the per-epoch curves of a fit: one panel per metric, training and validation (`val_`) together.

    Args:
        history: the `History` returned by `model.fit`, or its `.history` dict.
        path: where to save the figure as a PNG (not saved when None).
        metrics: names to draw ("loss", "accuracy", ...); default: every scalar metric of the history, loss
            first. A name's `val_` curve is drawn with it when present.

    Returns:
        The matplotlib `Figure`.

    Example:
        history = model.fit(x, y, validation_split=0.2, epochs=10)
        mlfront.utils.plot_history(history, "history.png")
    """
    Figure, MaxNLocator = _import_matplotlib()
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise TypeError(f"plot_history: `history` must be a History or a dict of per-epoch lists, got "
                        f"{type(history).__name__}.")
    curves = {name: values for name, values in logs.items() if _is_scalar_series(values)}
    available = list(dict.fromkeys(name[4:] if name.startswith("val_") else name for name in curves))
    if metrics is None:
        metrics = sorted(available, key=lambda name: name != "loss")  # stable: loss first, then fit's order
    else:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [name for name in metrics if name not in available]
        if unknown:
            raise ValueError(f"plot_history: no per-epoch values for {unknown} in the history; it has "
                             f"{available}.")
    if not metrics:
        raise ValueError(f"plot_history: the history has no scalar per-epoch values to draw (keys: {list(logs)}).")

    figure = Figure(figsize=(4.5 * len(metrics), 3.5), layout="constrained")
    for axes, name in zip(figure.subplots(1, len(metrics), squeeze=False)[0], metrics):
        for label in (name, "val_" + name):
            if label in curves:
                values = np.asarray(curves[label], dtype="float64")
                axes.plot(np.arange(1, len(values) + 1), values, marker="o" if len(values) < 30 else None,
                          label="validation" if label.startswith("val_") else "training")
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend()
    if path is not None:
        figure.savefig(path, format="png")
    return figure


def _is_scalar_series(values):
    try:
        return len(values) > 0 and all(np.ndim(v) == 0 for v in values)
    except TypeError:
        return False
