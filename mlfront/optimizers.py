"""Optimizers (Keras names and defaults). Each update rule reads like its formula, in `update_step`.

State (iteration count, learning rate, slots such as Adam's moments) lives in Variables, so it is carried
through the training core's pure step and a callback can change the learning rate without a retrace.
"""

from mlfront import backend as _backend
from mlfront.utils.naming import lookup, snake_case
from mlfront.variables import Variable


class Optimizer:
    """Base class.

    Args:
        learning_rate: a float, or a schedule `fn(iteration) -> learning rate` (see `mlfront.optimizers.schedules`).
        lr: Keras 2 spelling of `learning_rate`.
        decay: Keras 2 time decay, `lr / (1 + decay * iterations)`.
        clipnorm / clipvalue / global_clipnorm: gradient clipping per variable, per entry, or over all.
        weight_decay: decoupled weight decay, `w -= lr * weight_decay * w`.
    """

    def __init__(self, learning_rate=0.001, name=None, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, lr=None, decay=0.0, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}.")
        if lr is not None:
            learning_rate = lr
        self.name = name or snake_case(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.decay = float(decay or 0.0)
        self.schedule = learning_rate if callable(learning_rate) else None
        self.iterations = Variable(0, trainable=False, name="iterations", dtype="int32",
                                   path=f"{self.name}/iterations")
        self._learning_rate = Variable(0.0 if self.schedule else float(learning_rate), trainable=False,
                                       name="learning_rate", dtype="float32", path=f"{self.name}/learning_rate")
        self._slots = []
        self._built_for = None

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The current learning rate (a float; settable, e.g. by callbacks)."""
        return float(_backend.get().to_numpy(self.current_learning_rate()))

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):
            self.schedule = value
        else:
            self.schedule = None
            self._learning_rate.assign(_backend.get().convert(float(value), "float32"))

    lr = learning_rate

    def current_learning_rate(self):
        """The learning rate for this iteration, as a backend scalar (usable inside the compiled step)."""
        B = _backend.get()
        step = B.cast(self.iterations.value, "float32")
        rate = self.schedule(step) if self.schedule else self._learning_rate.value
        if self.decay:
            rate = rate / (1.0 + self.decay * step)
        return rate

    # ------------------------------------------------------------------ state
    def add_slot(self, variable, name, initial=0.0):
        """A per-variable state array shaped like `variable` (e.g. Adam's first moment)."""
        B = _backend.get()
        slot = Variable(B.full(variable.shape, initial, variable.dtype), trainable=False, name=name,
                        path=f"{self.name}/{variable.path}/{name}")
        self._slots.append(slot)
        return slot

    def build(self, variables):
        """Create the slots for `variables` (called once, before the first update)."""
        self._built_for = [id(v) for v in variables]

    @property
    def variables(self):
        """All optimizer state: iterations, learning rate, then the slots."""
        return [self.iterations, self._learning_rate] + self._slots

    # ------------------------------------------------------------------ updates
    def apply(self, grads, variables):
        """Update `variables` in place (by assignment) from `grads`, one step."""
        B = _backend.get()
        if self._built_for is None:
            self.build(variables)
        grads = self._clip(B, list(grads))
        rate = self.current_learning_rate()
        step = B.cast(self.iterations.value, "float32") + 1.0
        for index, (grad, variable) in enumerate(zip(grads, variables)):
            if self.weight_decay:
                variable.assign(variable.value - rate * self.weight_decay * variable.value)
            self.update_step(index, grad, variable, rate, step)
        self.iterations.assign(self.iterations.value + 1)

    def apply_gradients(self, grads_and_vars):
        """Keras's spelling: `apply_gradients(zip(grads, variables))`."""
        grads, variables = zip(*grads_and_vars)
        self.apply(list(grads), list(variables))

    def update_step(self, index, grad, variable, learning_rate, step):
        """Update one `variable` (the `index`-th) with its `grad`; `step` counts from 1."""
        raise NotImplementedError

    def _clip(self, B, grads):
        if self.clipvalue is not None:
            grads = [B.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            grads = [g * B.minimum(1.0, self.clipnorm / B.maximum(B.sqrt(B.sum(g * g)), 1e-12)) for g in grads]
        if self.global_clipnorm is not None:
            scale = B.minimum(1.0, self.global_clipnorm / B.maximum(B.global_norm(grads), 1e-12))
            grads = [g * scale for g in grads]
        return grads

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum:
    `m = momentum * m - lr * g; w += m` (Nesterov: `w += momentum * m - lr * g`)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be in [0, 1], got {momentum!r}.")
        self.momentum, self.nesterov = float(momentum), nesterov

    def build(self, variables):
        super().build(variables)
        self.velocities = [self.add_slot(v, "momentum") for v in variables] if self.momentum else []

    def update_step(self, index, grad, variable, learning_rate, step):
        if not self.momentum:
            variable.assign(variable.value - learning_rate * grad)
            return
        velocity = self.velocities[index]
        velocity.assign(self.momentum * velocity.value - learning_rate * grad)
        if self.nesterov:
            variable.assign(variable.value + self.momentum * velocity.value - learning_rate * grad)
        else:
            variable.assign(variable.value + velocity.value)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """`v = rho * v + (1 - rho) * g²; w -= lr * g / sqrt(v + epsilon)` (centered: v minus the squared mean
    gradient; momentum: the increments are accumulated)."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, variables):
        super().build(variables)
        self.velocities = [self.add_slot(v, "velocity") for v in variables]
        self.average_grads = [self.add_slot(v, "average_gradient") for v in variables] if self.centered else []
        self.momenta = [self.add_slot(v, "momentum") for v in variables] if self.momentum else []

    def update_step(self, index, grad, variable, learning_rate, step):
        B = _backend.get()
        velocity = self.velocities[index]
        velocity.assign(self.rho * velocity.value + (1.0 - self.rho) * B.square(grad))
        denominator = velocity.value
        if self.centered:
            average = self.average_grads[index]
            average.assign(self.rho * average.value + (1.0 - self.rho) * grad)
            denominator = denominator - B.square(average.value)
        increment = learning_rate * grad / B.sqrt(denominator + self.epsilon)
        if self.momentum:
            momentum = self.momenta[index]
            momentum.assign(self.momentum * momentum.value + increment)
            increment = momentum.value
        variable.assign(variable.value - increment)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adam(Optimizer):
    """`m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g²;
    w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)` (amsgrad: v replaced by its running max)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def build(self, variables):
        super().build(variables)
        self.momentums = [self.add_slot(v, "momentum") for v in variables]
        self.velocities = [self.add_slot(v, "velocity") for v in variables]
        self.velocity_maxes = [self.add_slot(v, "velocity_max") for v in variables] if self.amsgrad else []

    def update_step(self, index, grad, variable, learning_rate, step):
        B = _backend.get()
        m, v = self.momentums[index], self.velocities[index]
        m.assign(m.value + (grad - m.value) * (1.0 - self.beta_1))
        v.assign(v.value + (B.square(grad) - v.value) * (1.0 - self.beta_2))
        velocity = v.value
        if self.amsgrad:
            v_max = self.velocity_maxes[index]
            v_max.assign(B.maximum(v_max.value, velocity))
            velocity = v_max.value
        corrected_rate = learning_rate * B.sqrt(1.0 - self.beta_2 ** step) / (1.0 - self.beta_1 ** step)
        variable.assign(variable.value - corrected_rate * m.value / (B.sqrt(velocity) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


ALL = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def get(identifier):
    """An optimizer from a name ("adam", "sgd", "rmsprop") or an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return lookup(ALL, identifier, "optimizer")()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer {identifier!r}: expected a name "
                     f"({', '.join(sorted(ALL))}) or an Optimizer instance.")
