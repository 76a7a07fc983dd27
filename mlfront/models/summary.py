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


def format_summary(model, line_length=None):
    """The summary table as a string. Functional models add a "Connected to" column.

    `model.summary_rows()`, when the model has it, gives (name (type), output shape, params, connected to) per
    layer; "connected to" is None, a string or a list of strings.
    """
    rows = model.summary_rows() if hasattr(model, "summary_rows") else [
        (f"{layer.name} ({type(layer).__name__})", _shape_text(model.layer_output_shape(layer))
         if hasattr(model, "layer_output_shape") else "?", layer.count_params() if layer.built else 0, None)
        for layer in model.layers]
    connected = any(row[3] is not None for row in rows)
    widths = [29, 26, 10] + ([35] if connected else [])
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
