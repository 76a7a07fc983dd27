"""The per-call context: training mode and the key stream that random layers draw from.

The training core sets it around a model call; layers read it when their `training` argument is None.
"""

import contextlib
import threading

_state = threading.local()


def current():
    """(training, key_stream) of the innermost active context, or (False, None) outside any."""
    return getattr(_state, "frame", (False, None))


@contextlib.contextmanager
def call_context(training, key_stream=None):
    previous = current()
    _state.frame = (bool(training), key_stream if key_stream is not None else previous[1])
    try:
        yield
    finally:
        _state.frame = previous
