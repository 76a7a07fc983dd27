"""Keras's `factor` arguments: a number or a `(lower, upper)` pair, checked against a layer's bounds.

Keras 3 checks them three ways (the messages say which range applies), and so does this module:
`symmetric_factor` (RandomRotation, RandomContrast, RandomBrightness), `zoom_factor` and `translation_factor`.
"""

import numbers


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def symmetric_factor(factor, bounds, caller, name="factor"):
    """`(lower, upper)` from `factor`: a number `f` in `bounds` means `(max(-|f|, bounds[0]), |f|)`; a pair is
    sorted and rejected only when it lies wholly outside `bounds` (Keras 3's rule)."""
    low, high = bounds
    message = (f"{caller}: `{name}` must be a number (or a list of two numbers) in the range [{low}, {high}], "
               f"got {name}={factor!r}.")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_is_number(f) for f in factor) or factor[0] > high or factor[1] < low:
            raise ValueError(message)
        lower, upper = sorted(float(f) for f in factor)
        return lower, upper
    if not _is_number(factor) or not low <= factor <= high:
        raise ValueError(message)
    factor = abs(float(factor))
    return max(-factor, float(low)), factor


def _paired(factor, in_range, range_text, caller, name):
    message = (f"{caller}: `{name}` must be a number (or a list of two numbers) in the range {range_text}, "
               f"got {name}={factor!r}.")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_is_number(f) and in_range(f) for f in factor):
            raise ValueError(message)
        lower, upper = sorted(float(f) for f in factor)
        return lower, upper
    if not _is_number(factor) or not in_range(factor):
        raise ValueError(message)
    return -abs(float(factor)), abs(float(factor))


def zoom_factor(factor, caller, name):
    """`(lower, upper)` zoom offsets, each in (-1, 1]: the zoom is drawn from `[1 + lower, 1 + upper]`."""
    return _paired(factor, lambda f: -1.0 < f <= 1.0, "(-1.0, 1.0]", caller, name)


def translation_factor(factor, caller, name):
    """`(lower, upper)` shifts as fractions of the image size, each in [-1, 1]."""
    return _paired(factor, lambda f: -1.0 <= f <= 1.0, "[-1.0, 1.0]", caller, name)


def choice(value, choices, caller, name, error=ValueError):
    """`value` when it is one of `choices`, else `error` naming the argument."""
    if value not in choices:
        raise error(f"{caller}: `{name}` must be one of {choices}, got {name}={value!r}.")
    return value
