"""`model.summary()`: Keras's plain-text table of layers, output shapes and parameter counts."""

import math


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _count(variables):
    return sum(math.prod(v.shape) for v in variables)


def _column_widths(default, line_length, positions):
    if line_length is not None and (isinstance(line_length, bool) or not isinstance(line_length, int)
                                    or line_length < 20):
        raise ValueError(f"summary: `line_length` must be an int >= 20, got {line_length!r}.")
    if positions is None:
        if line_length is None:
            return default
        total = sum(default)
        positions = [sum(default[:i + 1]) / total for i in range(len(default))]
    positions = list(positions)
    if len(positions) != len(default) or not all(isinstance(p, (int, float)) for p in positions):
        raise ValueError(f"summary: `positions` must hold {len(default)} numbers (the right edge of each column), "
                         f"got {positions!r}.")
    width = line_length or sum(default) + 1
    if all(p <= 1 for p in positions):
        positions = [int(width * p) for p in positions]
    edges = [0] + [int(p) for p in positions]
    if any(b - a < 2 for a, b in zip(edges, edges[1:])):
        raise ValueError(f"summary: `positions` must increase by at least 2 characters, got {positions!r}.")
    return [b - a for a, b in zip(edges, edges[1:])]


def format_summary(model, line_length=None, positions=None):
    """The summary table as a string. Functional models add a "Connected to" column.

    `line_length` is the width of the table and `positions` the right edge of each column, as fractions of
    `line_length` (all <= 1) or in characters, as in Keras.

    `model.summary_rows()`, when the model has it, gives (name (type), output shape, params, connected to) per
    layer; "connected to" is None, a string or a list of strings.
    """
    rows = model.summary_rows() if hasattr(model, "summary_rows") else [
        (f"{layer.name} ({type(layer).__name__})", _shape_text(model.layer_output_shape(layer))
         if hasattr(model, "layer_output_shape") else "?", layer.count_params() if layer.built else 0, None)
        for layer in model.layers]
    connected = any(row[3] is not None for row in rows)
    widths = _column_widths([29, 26, 10] + ([35] if connected else []), line_length, positions)
    line_length = line_length or sum(widths) + 1
    titles = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])

    def line(cells):
        return "".join(f" {str(cell):<{w - 1}}" for cell, w in zip(cells, widths)).rstrip()

    out = [f'Model: "{model.name}"', "_" * line_length, line(titles), "=" * line_length]
    for index, row in enumerate(rows):
        # "Connected to" may list several inbound tensors: one per line, as in Keras.
        links = [row[3]] if isinstance(row[3], str) else list(row[3] or [""])
        out.append(line(row[:3] + ((links[0],) if connected else ())))
        out.extend(line(("", "", "", link)) for link in links[1:])
        out.append("_" * line_length if index < len(rows) - 1 else "=" * line_length)
    if not rows:
        out.append("=" * line_length)
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    out += [f"Total params: {trainable + non_trainable:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {non_trainable:,}", "_" * line_length]
    return "\n".join(out)
