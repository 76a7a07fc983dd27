"""mlfront: the Keras API over TensorFlow, PyTorch and JAX.

Pick the engine with `MLFRONT_BACKEND=tensorflow|torch|jax` (or `$MLFRONT_HOME/mlfront.json`); this
package itself never imports an engine: the adapter registered for that name does.
"""

from mlfront import backend  # noqa: F401  (callable: mlfront.backend() is the active backend's name)

backend.get()  # load the chosen engine now, so a missing engine fails at import with a clear message

from mlfront import activations, callbacks, constraints, initializers, layers, losses, metrics, models  # noqa: E402
from mlfront import ops, optimizers, random, regularizers, utils  # noqa: E402
from mlfront.layers import Input  # noqa: E402
from mlfront.models import Model, Sequential  # noqa: E402
from mlfront.variables import Variable  # noqa: E402
from mlfront.training.stateless import jit  # noqa: E402
from mlfront import applications, gradients  # noqa: E402  (ImageNet models; saliency maps)
from mlfront import mixed_precision  # noqa: E402  (dtype policies, LossScaleOptimizer)

__version__ = "0.1.0"


def value_and_grad(fn, has_aux=False):
    """Functional autodiff on the active backend: `value_and_grad(fn)(params, *args)` returns
    `(fn(params, *args), grads)` where `params` is a list of arrays and `grads` matches it."""
    return backend.get().value_and_grad(fn, has_aux=has_aux)


__all__ = ["backend", "value_and_grad", "jit", "Input", "Model", "Sequential", "Variable", "activations", "callbacks",
           "constraints", "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers", "random",
           "regularizers", "utils"]
__all__ += ["applications", "gradients", "mixed_precision"]
from mlfront import datasets, preprocessing  # noqa: E402  (Keras 2 data tools)
__all__ += ["datasets", "preprocessing"]
