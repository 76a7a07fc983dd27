"""The per-call context: training mode and the key stream that random layers draw from.

The training core sets it around a model call; layers read it when their `training` argument is None.
"""

import threading


class _State(threading.local):
    frame = (False, None)  # outside any context (a class default: read without a failed lookup, per layer call)


_state = _State()


def current():
    """(training, key_stream) of the innermost active context, or (False, None) outside any."""
    return _state.frame


class call_context:
    """`with call_context(training, key_stream):` the context of the calls inside (a class rather than a
    generator: it is entered once per step and per layer whose `training` differs from the context's)."""

    __slots__ = ("frame", "previous")

    def __init__(self, training, key_stream=None):
        self.frame = (bool(training), key_stream)

    def __enter__(self):
        self.previous = previous = _state.frame
        training, key_stream = self.frame
        _state.frame = (training, key_stream if key_stream is not None else previous[1])

    def __exit__(self, *exc_info):
        _state.frame = self.previous
        return False
