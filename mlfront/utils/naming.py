"""Name lookups shared by the registries of activations, losses, optimizers, metrics and initializers."""

import re


def canonical(name):
    """'GlorotUniform', 'glorot_uniform' and 'glorot-uniform' all become 'glorotuniform'."""
    return re.sub(r"[_\-\s]", "", name).lower()


def lookup(table, name, kind):
    """`table[name]`, accepting snake_case and CamelCase; a clear error listing valid names otherwise."""
    if name in table:
        return table[name]
    wanted = canonical(name)
    for key, value in table.items():
        if canonical(key) == wanted:
            return value
    raise ValueError(f"Unknown {kind} {name!r}. Valid {kind} names: {', '.join(sorted(table))}.")


def snake_case(name):
    """'BatchNormalization' -> 'batch_normalization', 'Conv2D' -> 'conv2d', 'SimpleRNN' -> 'simple_rnn'
    (Keras's automatic names)."""
    words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()
