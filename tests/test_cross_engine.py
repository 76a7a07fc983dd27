"""A model saved on any engine loads on every engine and predicts the same numbers.

The fixtures under `tests/fixtures/cross_engine/<engine>/` were written on each engine by
`tests/fixtures/make_cross_engine_fixtures.py`; every tox env reads all of them.
"""

import json
import os
import zipfile

import numpy as np
import pytest

import mlfront
import cross_engine_models as catalogue

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "cross_engine")
ENGINES = ("torch", "jax", "tensorflow")


def _layer_classes(layer, found):
    found.add(type(layer).__name__)
    for sub in layer._sublayers():
        _layer_classes(sub, found)
    return found


def test_the_catalogue_holds_every_public_layer_class():
    from mlfront.saving import serialization
    public = {n for n, cls in serialization._builtin_tables()["layers"].items() if cls.__name__ == n} - {"Layer"}
    used = set()
    for name in catalogue.NAMES:
        _layer_classes(catalogue.build(name)[0], used)
    assert public - used == set()


@pytest.mark.parametrize("writer", ENGINES)
@pytest.mark.parametrize("name", catalogue.NAMES)
def test_a_model_saved_on_one_engine_predicts_the_same_here(writer, name):
    path = os.path.join(FIXTURES, writer, f"{name}.keras")
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("metadata.json"))["backend"] == writer
    expected = np.load(os.path.join(FIXTURES, writer, "expected.npz"))
    inputs = [expected[k] for k in sorted(k for k in expected.files if k.startswith(f"{name}/input_"))]
    model = mlfront.models.load_model(path, safe_mode=False)  # the vectors model holds a (registered) Lambda
    predicted = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    np.testing.assert_allclose(predicted, expected[f"{name}/output"], rtol=0, atol=1e-5)


def test_a_model_saved_here_predicts_what_it_predicted(tmp_path):
    for name in catalogue.NAMES:
        model, inputs = catalogue.build(name)
        x = inputs if len(inputs) > 1 else inputs[0]
        model.save(tmp_path / f"{name}.keras")
        loaded = mlfront.models.load_model(tmp_path / f"{name}.keras", safe_mode=False)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
