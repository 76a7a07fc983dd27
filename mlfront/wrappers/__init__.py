"""Wrappers that let mlfront models work inside other libraries: `scikit_learn` (Keras 2's
`KerasClassifier` / `KerasRegressor`). scikit-learn itself is never imported here."""

from mlfront.wrappers import scikit_learn

__all__ = ["scikit_learn"]
