"""`run_layer_test`: the one helper every layer test uses.

It builds the layer, checks its output against a NumPy reference (when given) and the declared output shape,
the weight counts, a `get_config` / `from_config` round trip that reproduces the output with the same weights,
the output shape seen through the Functional/Sequential symbolic path, and a real training step that changes
the trainable weights.

`check_config` is the config part: every `__init__` parameter of the layer's class must be a key of
`get_config()` except `BASE_ARGS_FOLDED` (the base Layer's input-shape spellings, all folded into
`batch_input_shape`, and Keras 2's legacy `weights=` / `input_length=`, which Keras 3 configs do not hold
either) and those a class lists in `_not_in_config` (arguments of a shared `__init__` that do not apply to
it, e.g. `output_padding` of a non-transposed convolution), and the config must survive `json.dumps` /
`json.loads`.
"""

import inspect
import json

import numpy as np

import mlfront
from mlfront import layers


def run_layer_test(layer_class, init_kwargs, input_data, expected_output=None, expected_output_shape=None,
                   expected_num_trainable_weights=None, expected_num_non_trainable_weights=None,
                   reference=None, rtol=1e-5, atol=1e-5, call_kwargs=None, train=True):
    """Check a layer end to end; returns the layer (built) and its NumPy output.

    Args:
        layer_class, init_kwargs: how to make the layer.
        input_data: a NumPy array (or list of arrays for multi-input layers).
        expected_output: a NumPy array the output must match, or
        reference: `fn(layer, input_data) -> expected output`, given the built layer (to read its weights).
        expected_output_shape: the full output shape (with batch size).
    """
    call_kwargs = call_kwargs or {}
    B = mlfront.ops
    layer = layer_class(**init_kwargs)
    inputs = [B.convert_to_tensor(x) for x in input_data] if isinstance(input_data, list) \
        else B.convert_to_tensor(input_data)
    output = layer(inputs, **call_kwargs)
    output_np = _to_numpy(output)

    if expected_output_shape is not None:
        assert _shape(output_np) == _shape_of_expected(expected_output_shape), \
            f"output shape {_shape(output_np)} != expected {expected_output_shape}"
    if reference is not None:
        expected_output = reference(layer, input_data)
    if expected_output is not None:
        _assert_close(output_np, expected_output, rtol, atol)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    # get_config / from_config: the config holds every __init__ argument, survives JSON, and a new layer with
    # the same config and weights gives the same output
    config = check_config(layer)
    config.pop("name", None)
    clone = layer_class.from_config(config)
    clone(inputs, **call_kwargs)
    clone.set_weights(layer.get_weights())
    _assert_close(_to_numpy(clone(inputs, **call_kwargs)), output_np, 1e-6, 1e-6)

    # symbolic path: the inferred output shape matches the real one (batch dimension unknown)
    symbolic_in = [layers.Input(shape=np.shape(x)[1:], dtype=_dtype(x)) for x in input_data] \
        if isinstance(input_data, list) else layers.Input(shape=np.shape(input_data)[1:], dtype=_dtype(input_data))
    symbolic_layer = layer_class.from_config(config)
    symbolic_out = symbolic_layer(symbolic_in, **call_kwargs)
    for sym, real in zip(_as_list(symbolic_out), _as_list(output_np)):
        assert tuple(sym.shape[1:]) == tuple(np.shape(real)[1:]), \
            f"symbolic shape {sym.shape} does not match real output shape {np.shape(real)}"

    if train and layer.trainable_weights and not isinstance(input_data, list) and not isinstance(output_np, list):
        _check_training_step(layer_class, config, input_data, output_np, call_kwargs)
    return layer, output_np


BASE_ARGS_FOLDED = {"input_shape", "input_dim", "batch_input_shape", "batch_size", "weights", "input_length"}


def check_config(obj, exempt=()):
    """`obj.get_config()` after JSON: it must hold every `__init__` parameter of `type(obj)` (but
    `BASE_ARGS_FOLDED` and `exempt`), and `json.dumps` must accept it. Returns the JSON-loaded config."""
    config = obj.get_config()
    parameters = inspect.signature(type(obj).__init__).parameters.values()
    names = {p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)} - {"self"}
    not_applicable = set(getattr(type(obj), "_not_in_config", ()))  # e.g. Conv2D's `output_padding`
    missing = sorted(names - set(config) - BASE_ARGS_FOLDED - not_applicable - set(exempt))
    assert not missing, f"{type(obj).__name__}.get_config() lacks __init__ argument(s) {missing}"
    try:
        text = json.dumps(config)
    except TypeError as error:
        raise AssertionError(f"{type(obj).__name__}.get_config() is not JSON-safe: {error}") from None
    return json.loads(text)


def _check_training_step(layer_class, config, input_data, output_np, call_kwargs):
    layer = layer_class.from_config(config)
    model = mlfront.Sequential([layers.Input(shape=np.shape(input_data)[1:], dtype=_dtype(input_data)), layer])
    model.compile(optimizer=mlfront.optimizers.SGD(0.1), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    target = np.random.default_rng(0).normal(size=np.shape(output_np)).astype("float32")
    model.train_on_batch(input_data, target)
    after = model.get_weights()
    assert any(not np.allclose(b, a) for b, a in zip(before, after)), "a training step changed no weight"


def _dtype(x):
    return "int32" if np.issubdtype(np.asarray(x).dtype, np.integer) else "float32"


def _to_numpy(x):
    if isinstance(x, (list, tuple)):
        return [_to_numpy(v) for v in x]
    return mlfront.ops.convert_to_numpy(x)


def _shape(x):
    return [np.shape(v) for v in x] if isinstance(x, list) else np.shape(x)


def _shape_of_expected(shape):
    return [tuple(s) for s in shape] if isinstance(shape, list) else tuple(shape)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _assert_close(actual, expected, rtol, atol):
    if isinstance(expected, (list, tuple)):
        for a, e in zip(actual, expected):
            _assert_close(a, e, rtol, atol)
        return
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)
