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
    """'BatchNormalization' -> 'batch_normalization' (Keras's automatic names)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z][a-z])", r"_\1\2", name).lower()
