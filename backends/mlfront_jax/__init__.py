"""mlfront adapter for JAX, registered in the `mlfront.backends` entry-point group as "jax"."""

from mlfront_jax.backend import JaxBackend

__all__ = ["JaxBackend"]
