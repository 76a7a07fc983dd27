"""Optimizers with Keras 3 names, defaults and update rules.

Each optimizer's `update` reads like its algorithm box: scalars that depend only on the step (bias
corrections) are computed once per step, then every variable is updated from its gradient and its slots.
All state (iteration count, learning rate, slots such as Adam's moments) lives in Variables, so it flows
through the training core's pure compiled step, and setting `optimizer.learning_rate` between steps takes
effect without recompiling.

Example:
    optimizer = mlfront.optimizers.Adam(learning_rate=1e-3, clipnorm=1.0)
    optimizer.apply(grads, variables)
"""

import re
import sys

from mlfront import backend as _backend
from mlfront import schedules
from mlfront.distribution import replicas as _replicas
from mlfront.saving import serialization as _serialization
from mlfront.utils.naming import lookup, snake_case
from mlfront.variables import Variable, bind, values_of

# `import mlfront.optimizers.schedules` and `from mlfront.optimizers.schedules import ...` work as in Keras.
sys.modules[__name__ + ".schedules"] = schedules

# Keras 3 arguments accepted (so Keras configs load) but only at their "off" values.
_UNSUPPORTED = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                "gradient_accumulation_steps": None, "is_legacy_optimizer": False}
# Keras 2 (tf_keras) config entries that only tune speed: XLA compilation of the update (the backend compiles
# mlfront's whole step anyway).
_SPEED_HINTS = ("jit_compile",)


class LearningRate(float):
    """The value of `optimizer.learning_rate`: a float that also offers `.numpy()` and `.assign(value)`."""

    def __new__(cls, value, optimizer):
        self = super().__new__(cls, value)
        self._optimizer = optimizer
        return self

    def numpy(self):
        return float(self)

    def assign(self, value):
        self._optimizer.learning_rate = value


class Optimizer:
    """Base class: clipping, weight decay, the learning rate and the iteration count.

    Subclasses create their slots in `build(variables)` (with `add_slots`) and implement
    `update(grads, variables, learning_rate)`, or Keras-style `update_step(gradient, variable, learning_rate)`.

    Args:
        learning_rate: a float, or a schedule `fn(step) -> rate` (see `mlfront.optimizers.schedules`).
        weight_decay: decoupled weight decay applied before each update: `w -= learning_rate * weight_decay * w`.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient entry to [-clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to this global L2 norm (only one clip argument may be set).
        loss_scale_factor: gradients are divided by this factor before use.
        name: the optimizer's name (prefix of its variables' paths).
        lr: Keras 2 spelling of `learning_rate`.
        jit_compile / is_legacy_optimizer: Keras 2 (tf_keras) config entries, accepted so its configs load
            (the backend compiles the whole step anyway; only `is_legacy_optimizer=False` is supported).
        decay: Keras 2 time decay: the rate is divided by `1 + decay * iterations`.
    """

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 loss_scale_factor=None, name=None, lr=None, decay=0.0, **kwargs):
        name = name or snake_case(type(self).__name__)
        for key, off in _UNSUPPORTED.items():
            if key in kwargs and kwargs.pop(key) not in (off, None, False):
                raise NotImplementedError(f"{type(self).__name__}: `{key}` is not supported by mlfront.")
        for key in _SPEED_HINTS:
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}.")
        if lr is not None:
            learning_rate = lr
        if isinstance(learning_rate, dict):
            learning_rate = schedules.deserialize(learning_rate)
        if not callable(learning_rate):
            try:
                learning_rate = float(learning_rate)
            except (TypeError, ValueError):
                raise ValueError(f"{type(self).__name__}: `learning_rate` must be a float or a schedule "
                                 f"fn(step) -> rate, got {learning_rate!r}.") from None
        if sum(arg is not None for arg in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{type(self).__name__}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` "
                             f"can be set; got clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}.")
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.loss_scale_factor = loss_scale_factor
        self.decay = float(decay or 0.0)
        self.schedule = learning_rate if callable(learning_rate) else None
        self.iterations = Variable(0, trainable=False, name="iterations", dtype="int32", path=f"{name}/iterations")
        self._learning_rate = Variable(0.0 if self.schedule else float(learning_rate), trainable=False,
                                       name="learning_rate", dtype="float32", path=f"{name}/learning_rate")
        self._slots = []
        self._built_for = None
        self._index = {}
        self._no_decay_ids, self._no_decay_names = set(), None

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The learning rate of the current iteration (settable between steps; a float with `.numpy()`)."""
        return LearningRate(_backend.get().to_numpy(self.current_learning_rate()), self)

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):
            if self._built_for is not None and self.schedule is None:
                raise TypeError(f"{type(self).__name__}: a schedule can replace a float learning rate only "
                                f"before the optimizer is built; create a new optimizer instead.")
            self.schedule = value
            return
        if self.schedule is not None:
            raise TypeError(f"{type(self).__name__}: this optimizer was created with a learning-rate schedule, "
                            f"so its learning rate is not settable (got {value!r}).")
        self._learning_rate.assign(_backend.get().convert(float(value), "float32"))

    lr = learning_rate

    def current_learning_rate(self):
        """The learning rate for this iteration, as a backend scalar (usable inside the compiled step)."""
        B = _backend.get()
        if self.schedule is None and not self.decay:
            return self._learning_rate.value
        step = B.cast(self.iterations.value, "float32")
        rate = self.schedule(step) if self.schedule else self._learning_rate.value
        if self.decay:
            rate = rate / (1.0 + self.decay * step)
        return rate

    def local_step(self):
        """The 1-based number of the step being applied, as a float32 backend scalar."""
        return _backend.get().cast(self.iterations.value, "float32") + 1.0

    # ------------------------------------------------------------------ state
    def build(self, variables):
        """Create the slots for `variables` (called once, before the first update)."""
        self._built_for = [id(v) for v in variables]
        self._built_variables = list(variables)
        self._index = {id(v): i for i, v in enumerate(variables)}

    @property
    def built(self):
        return self._built_for is not None

    def add_slot(self, variable, name, initial=0.0):
        """A state Variable shaped like `variable`, filled with `initial` (e.g. Adam's first moment)."""
        B = _backend.get()
        slot = Variable(B.full(variable.shape, initial, variable.dtype), trainable=False, name=name,
                        path=f"{self.name}/{variable.path}/{name}")
        slot.reference_path = variable.path  # a distribution lays the slot out as its variable
        self._slots.append(slot)
        return slot

    def add_slots(self, variables, name, initial=0.0):
        """One slot per variable, in the order of `variables`."""
        return [self.add_slot(v, name, initial) for v in variables]

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """Keras spelling of `add_slot` (initializer "zeros" or "ones", or a number)."""
        initial = {"zeros": 0.0, "ones": 1.0}.get(initializer, initializer)
        return self.add_slot(reference_variable, name or "slot", float(initial))

    def add_variable(self, shape=(), initializer="zeros", dtype="float32", name="variable"):
        """A state Variable that is not tied to a model variable (e.g. Nadam's momentum product)."""
        B = _backend.get()
        initial = {"zeros": 0.0, "ones": 1.0}.get(initializer, initializer)
        variable = Variable(B.full(tuple(shape), float(initial), dtype), trainable=False, name=name,
                            path=f"{self.name}/{name}")
        self._slots.append(variable)
        return variable

    def _get_variable_index(self, variable):
        try:
            return self._index[id(variable)]
        except KeyError:
            raise ValueError(f"{type(self).__name__}: variable {variable.path!r} is not one of the "
                             f"{len(self._index)} variables this optimizer was built for.") from None

    @property
    def variables(self):
        """All optimizer state: iterations, learning rate, then the slots."""
        return [self.iterations, self._learning_rate] + self._slots

    # ------------------------------------------------------------------ weight decay
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for these Variables, or for Variables whose name matches one of `var_names`."""
        if self._built_for is not None:
            raise ValueError(f"{type(self).__name__}: call exclude_from_weight_decay() before the optimizer "
                             f"is built.")
        self._no_decay_ids.update(id(v) for v in var_list or [])
        if var_names:
            self._no_decay_names = re.compile("|".join(re.escape(n) for n in var_names))

    def _uses_weight_decay(self, variable):
        if id(variable) in self._no_decay_ids:
            return False
        return self._no_decay_names is None or not self._no_decay_names.search(variable.name)

    def _apply_weight_decay(self, variables, learning_rate):
        if not self.weight_decay:
            return
        keep = 1.0 - learning_rate * self.weight_decay  # w - lr * wd * w, one factor per step
        for variable in variables:
            if self._uses_weight_decay(variable):
                variable.assign(variable.value * keep)

    # ------------------------------------------------------------------ updates
    def apply(self, grads, trainable_variables=None):
        """Update `trainable_variables` (by assignment) from `grads`, one step; None gradients are skipped.

        Without `trainable_variables`, `grads` must match the variables the optimizer was built for.
        """
        B = _backend.get()
        grads = list(grads)
        if trainable_variables is None:
            if self._built_for is None:
                raise ValueError(f"{type(self).__name__}: pass `trainable_variables` on the first apply(), or "
                                 f"call build(variables) first.")
            trainable_variables = self._built_variables
        else:
            trainable_variables = list(trainable_variables)
            if self._built_for is None:
                self.build(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{type(self).__name__}: got {len(grads)} gradients for "
                             f"{len(trainable_variables)} variables.")
        pairs = [(g, v) for g, v in zip(grads, trainable_variables) if g is not None]
        if pairs:
            grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
            grads = _replicas.reduce_gradients(grads)  # the global batch's gradients under data parallelism
            if self.loss_scale_factor:
                grads = [g / self.loss_scale_factor for g in grads]
            grads = self._clip(B, grads)
            rate = self.current_learning_rate()
            self._apply_weight_decay(variables, rate)
            self.update(grads, variables, rate)
            for variable in variables:
                constraint = getattr(variable, "constraint", None)
                if constraint is not None:
                    variable.assign(constraint(variable.value))
        self.iterations.assign(self.iterations.value + 1)

    def apply_gradients(self, grads_and_vars):
        """Keras's spelling: `apply_gradients(zip(grads, variables))`."""
        grads, variables = zip(*grads_and_vars)
        self.apply(list(grads), list(variables))

    def update(self, grads, variables, learning_rate):
        """One step over all `variables` (after clipping and weight decay). Default: `update_step` per variable."""
        for grad, variable in zip(grads, variables):
            self.update_step(grad, variable, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """Update one variable (Keras-style hook for custom optimizers; use `_get_variable_index` for slots)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update() or update_step().")

    def _clip(self, B, grads):
        if self.clipnorm is not None:
            return [g * B.minimum(self.clipnorm / B.maximum(B.sqrt(B.sum(B.square(g))), 1e-12), 1.0)
                    for g in grads]
        if self.global_clipnorm is not None:
            scale = B.minimum(self.global_clipnorm / B.maximum(B.global_norm(grads), 1e-12), 1.0)
            return [g * scale for g in grads]
        if self.clipvalue is not None:
            return [B.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # ------------------------------------------------------------------ stateless API (custom training loops)
    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """One update on explicit values, without changing any Variable (call `build(variables)` first).

        Args:
            optimizer_variables: arrays, one per `self.variables`.
            grads: gradients, one per trainable value.
            trainable_variables: arrays, one per variable the optimizer was built for.

        Returns:
            `(trainable_variables, optimizer_variables)`: the updated values.
        """
        from mlfront.training import stateless
        return stateless.stateless_apply(self, optimizer_variables, grads, trainable_variables)

    # ------------------------------------------------------------------ config
    def get_config(self):
        if self.schedule is None:
            rate = float(self._learning_rate.numpy())
        elif isinstance(self.schedule, schedules.LearningRateSchedule):
            rate = schedules.serialize(self.schedule)
        else:
            rate = self.schedule
        config = {"name": self.name, "learning_rate": rate, "weight_decay": self.weight_decay,
                  "clipnorm": self.clipnorm, "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm,
                  "loss_scale_factor": self.loss_scale_factor}
        return {**config, "decay": self.decay} if self.decay else config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum.

    `m = momentum * m - lr * g; w += m`  (Nesterov: `w += momentum * m - lr * g`; no momentum: `w -= lr * g`).

    Args:
        learning_rate: float or schedule (default 0.01).
        momentum: float in [0, 1].
        nesterov: use Nesterov momentum.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be in [0, 1], got {momentum!r}.")
        self.momentum, self.nesterov = float(momentum), nesterov

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_slots(variables, "momentum") if self.momentum else []

    def update(self, grads, variables, learning_rate):
        if not self.momentum:
            for grad, variable in zip(grads, variables):
                variable.assign(variable.value - learning_rate * grad)
            return
        momentums = [self.momentums[self._get_variable_index(v)] for v in variables]
        new_params, new_momentums = _backend.get().sgd_momentum_update(
            values_of(variables), grads, values_of(momentums), learning_rate, self.momentum, self.nesterov)
        bind(variables + momentums, new_params + new_momentums)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square.

    `v = rho * v + (1 - rho) * g²;  w -= lr * g / sqrt(v + epsilon)`. Centered: `a = rho * a + (1 - rho) * g`
    and `v - a²` replaces `v`. With momentum the increments accumulate: `s = momentum * s + increment; w -= s`.

    Args:
        learning_rate: float or schedule (default 0.001).
        rho: discount of the squared-gradient average.
        momentum: momentum of the increments (0 for none).
        epsilon: added under the square root.
        centered: normalize by the estimated variance instead of the second moment.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, variables):
        super().build(variables)
        self.velocities = self.add_slots(variables, "velocity")
        self.average_gradients = self.add_slots(variables, "average_gradient") if self.centered else []
        self.momentums = self.add_slots(variables, "momentum") if self.momentum else []

    def update(self, grads, variables, learning_rate):
        B = _backend.get()
        rho = self.rho
        for grad, variable in zip(grads, variables):
            i = self._get_variable_index(variable)
            v = self.velocities[i]
            v.assign(rho * v.value + (1.0 - rho) * B.square(grad))
            denominator = v.value
            if self.centered:
                a = self.average_gradients[i]
                a.assign(rho * a.value + (1.0 - rho) * grad)
                denominator = denominator - B.square(a.value)
            increment = learning_rate * grad / B.sqrt(denominator + self.epsilon)
            if self.momentum:
                s = self.momentums[i]
                s.assign(self.momentum * s.value + increment)
                increment = s.value
            variable.assign(variable.value - increment)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adam(Optimizer):
    """Adaptive moment estimation.

    `m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g²;  w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`
    (epsilon outside the square root, on the uncorrected `v`, as in Keras). AMSGrad uses the running maximum
    of `v`.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1, beta_2: decay rates of the first and second moments.
        epsilon: small constant for numerical stability.
        amsgrad: use the AMSGrad variant.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_slots(variables, "momentum")
        self.velocities = self.add_slots(variables, "velocity")
        self.velocity_hats = self.add_slots(variables, "velocity_hat") if self.amsgrad else []

    def update(self, grads, variables, learning_rate):
        B = _backend.get()
        t = self.local_step()
        alpha = learning_rate * B.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)  # once per step
        if not self.amsgrad:
            indices = [self._get_variable_index(v) for v in variables]
            momentums, velocities = [self.momentums[i] for i in indices], [self.velocities[i] for i in indices]
            new = B.adam_update(values_of(variables), grads, values_of(momentums), values_of(velocities), alpha,
                                self.beta_1, self.beta_2, self.epsilon)
            bind(variables + momentums + velocities, [value for values in new for value in values])
            return
        one_minus_b1, one_minus_b2 = 1.0 - self.beta_1, 1.0 - self.beta_2
        for grad, variable in zip(grads, variables):
            i = self._get_variable_index(variable)
            m, v, v_hat = self.momentums[i], self.velocities[i], self.velocity_hats[i]
            m.assign(B.lerp(m.value, grad, one_minus_b1))
            v.assign(B.lerp(v.value, B.square(grad), one_minus_b2))
            v_hat.assign(B.maximum(v_hat.value, v.value))
            variable.assign(variable.value - alpha * m.value / (B.sqrt(v_hat.value) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (`w -= lr * weight_decay * w` before each Adam step).

    Args:
        learning_rate: float or schedule (default 0.001).
        weight_decay: the decay rate (default 0.004).
        beta_1, beta_2, epsilon, amsgrad: as in `Adam`.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: `weight_decay` must be a float (use Adam for no weight decay), got None.")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, **kwargs)


class Adagrad(Optimizer):
    """Per-entry rates from the sum of squared gradients: `a += g²;  w -= lr * g / sqrt(a + epsilon)`.

    Args:
        learning_rate: float or schedule (default 0.001).
        initial_accumulator_value: starting value of `a`.
        epsilon: added under the square root.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def build(self, variables):
        super().build(variables)
        self.accumulators = self.add_slots(variables, "accumulator", self.initial_accumulator_value)

    def update(self, grads, variables, learning_rate):
        B = _backend.get()
        for grad, variable in zip(grads, variables):
            a = self.accumulators[self._get_variable_index(variable)]
            a.assign(a.value + B.square(grad))
            variable.assign(variable.value - learning_rate * grad / B.sqrt(a.value + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Steps scaled by the ratio of running RMS of past steps and of gradients.

    `a = rho a + (1 - rho) g²;  d = -sqrt(s + eps) / sqrt(a + eps) * g;  s = rho s + (1 - rho) d²;  w += lr * d`.

    Args:
        learning_rate: float or schedule (default 0.001).
        rho: decay rate of both averages.
        epsilon: added under the square roots.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def build(self, variables):
        super().build(variables)
        self.accumulated_grads = self.add_slots(variables, "accumulated_grad")
        self.accumulated_delta_vars = self.add_slots(variables, "accumulated_delta_var")

    def update(self, grads, variables, learning_rate):
        B = _backend.get()
        rho, eps = self.rho, self.epsilon
        for grad, variable in zip(grads, variables):
            i = self._get_variable_index(variable)
            a, s = self.accumulated_grads[i], self.accumulated_delta_vars[i]
            a.assign(rho * a.value + (1.0 - rho) * B.square(grad))
            delta = -B.sqrt(s.value + eps) / B.sqrt(a.value + eps) * grad
            s.assign(rho * s.value + (1.0 - rho) * B.square(delta))
            variable.assign(variable.value + learning_rate * delta)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adam with the infinity norm: `m = b1 m + (1 - b1) g;  u = max(b2 u, |g|);
    w -= lr / (1 - b1^t) * m / (u + epsilon)`.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1, beta_2: decay rates of the first moment and of the infinity norm.
        epsilon: small constant for numerical stability.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_slots(variables, "momentum")
        self.norms = self.add_slots(variables, "norm")

    def update(self, grads, variables, learning_rate):
        B = _backend.get()
        corrected_rate = learning_rate / (1.0 - self.beta_1 ** self.local_step())  # once per step
        for grad, variable in zip(grads, variables):
            i = self._get_variable_index(variable)
            m, u = self.momentums[i], self.norms[i]
            m.assign(m.value + (grad - m.value) * (1.0 - self.beta_1))
            u.assign(B.maximum(self.beta_2 * u.value, B.abs(grad)))
            variable.assign(variable.value - corrected_rate * m.value / (u.value + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum and the momentum schedule `mu_t = b1 (1 - 0.5 * 0.96^t)` (Keras 3).

    `m_hat = mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g / (1 - prod_{i<=t} mu_i)`,
    `v_hat = v / (1 - b2^t)`, `w -= lr * m_hat / (sqrt(v_hat) + epsilon)`.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1, beta_2: decay rates of the first and second moments.
        epsilon: small constant for numerical stability.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_slots(variables, "momentum")
        self.velocities = self.add_slots(variables, "velocity")
        self.u_product = self.add_variable((), "ones", name="u_product")

    def update(self, grads, variables, learning_rate):
        B = _backend.get()
        t = self.local_step()
        mu_t = self.beta_1 * (1.0 - 0.5 * 0.96 ** t)
        mu_next = self.beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1.0))
        self.u_product.assign(self.u_product.value * mu_t)
        product_t = self.u_product.value
        product_next = product_t * mu_next
        momentum_weight = mu_next / (1.0 - product_next)  # scalars, once per step
        gradient_weight = (1.0 - mu_t) / (1.0 - product_t)
        v_correction = 1.0 / (1.0 - self.beta_2 ** t)
        for grad, variable in zip(grads, variables):
            i = self._get_variable_index(variable)
            m, v = self.momentums[i], self.velocities[i]
            m.assign(m.value + (grad - m.value) * (1.0 - self.beta_1))
            v.assign(v.value + (B.square(grad) - v.value) * (1.0 - self.beta_2))
            m_hat = momentum_weight * m.value + gradient_weight * grad
            v_hat = v.value * v_correction
            variable.assign(variable.value - learning_rate * m_hat / (B.sqrt(v_hat) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al. 2013), as in Keras: per entry an accumulator `n` of squared
    gradients and a linear term `z`;

    `g' = g + 2 * l2_shrinkage * w;  n' = n + g²;  z += g' - (n'^-p - n^-p) / lr * w;
    w = (clip(z, -l1, l1) - z) / (n'^-p / lr + 2 * (l2 + beta / (2 lr)))`, with `p = learning_rate_power`.

    Args:
        learning_rate: float or schedule (default 0.001).
        learning_rate_power: <= 0; -0.5 is the usual square-root decay.
        initial_accumulator_value: >= 0, the starting `n`.
        l1_regularization_strength, l2_regularization_strength: >= 0; l1 makes weights exactly zero.
        l2_shrinkage_regularization_strength: >= 0, an L2 penalty on the weights inside the gradient.
        beta: the "beta" of the per-coordinate learning rate.
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        for name, value in (("initial_accumulator_value", initial_accumulator_value),
                            ("l1_regularization_strength", l1_regularization_strength),
                            ("l2_regularization_strength", l2_regularization_strength),
                            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0:
                raise ValueError(f"Ftrl: `{name}` must be >= 0, got {value!r}.")
        if learning_rate_power > 0:
            raise ValueError(f"Ftrl: `learning_rate_power` must be <= 0, got {learning_rate_power!r}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, variables):
        super().build(variables)
        self.accumulators = self.add_slots(variables, "accumulator", self.initial_accumulator_value)
        self.linears = self.add_slots(variables, "linear")

    def update(self, grads, variables, learning_rate):
        B = _backend.get()
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        for grad, variable in zip(grads, variables):
            i = self._get_variable_index(variable)
            n, z, w = self.accumulators[i], self.linears[i], variable.value
            shrunk = grad + 2.0 * self.l2_shrinkage_regularization_strength * w
            new_n = n.value + B.square(grad)
            z.assign(z.value + shrunk - (B.power(new_n, power) - B.power(n.value, power)) / learning_rate * w)
            quadratic = B.power(new_n, power) / learning_rate + 2.0 * l2
            variable.assign((B.clip(z.value, -l1, l1) - z.value) / quadratic)
            n.assign(new_n)

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Lion(Optimizer):
    """Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): the sign of an interpolated
    momentum: `w -= lr * sign(b1 m + (1 - b1) g);  m = b2 m + (1 - b2) g`. Steps have the size `lr` everywhere,
    so Lion wants a learning rate 3-10x smaller than Adam's.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: in (0, 1], the interpolation of the update direction.
        beta_2: the decay rate of the momentum.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError(f"Lion: `beta_1` must be in (0, 1] (0 makes it SignSGD), got {beta_1!r}.")
        self.beta_1, self.beta_2 = beta_1, beta_2

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_slots(variables, "momentum")

    def update(self, grads, variables, learning_rate):
        B = _backend.get()
        for grad, variable in zip(grads, variables):
            m = self.momentums[self._get_variable_index(variable)]
            direction = B.sign(m.value * self.beta_1 + grad * (1.0 - self.beta_1))
            variable.assign(variable.value - learning_rate * direction)
            m.assign(m.value * self.beta_2 + grad * (1.0 - self.beta_2))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern 2018), as in Keras: the second moment of a matrix-shaped weight kept as a row
    and a column average (memory O(rows + cols)), steps relative to the weight's RMS, updates clipped by RMS.

    With `t` the step, `rho = min(lr, 1 / sqrt(t))`, `alpha = max(epsilon_2, rms(w)) * rho`,
    `b2 = 1 - t ** beta_2_decay`, `G = g² + epsilon_1`: for weights of rank >= 2, `r = b2 r + (1 - b2) mean(G, -1)`,
    `c = b2 c + (1 - b2) mean(G, -2)`, `v = r / mean(r) x c`; otherwise `v = b2 v + (1 - b2) G`. Then
    `u = g / sqrt(v)`, `w -= alpha * u / max(1, rms(u) / clip_threshold)`.

    Args:
        learning_rate: float or schedule (default 0.001); with `relative_step` a float rate is also capped at
            `1 / sqrt(t)`.
        beta_2_decay: the exponent of the second-moment decay schedule.
        epsilon_1: added to the squared gradients; epsilon_2: the smallest weight RMS that scales a step.
        clip_threshold: the update RMS above which updates are scaled down.
        relative_step: cap a constant learning rate at `1 / sqrt(t)`.
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                 relative_step=True, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, relative_step

    def build(self, variables):
        super().build(variables)
        self.rows, self.columns, self.velocities = [], [], []
        for variable in variables:
            shape = tuple(variable.shape)
            factored = len(shape) >= 2
            self.rows.append(self.add_variable(shape[:-1] if factored else (), name=f"{variable.path}/row"))
            self.columns.append(self.add_variable(shape[:-2] + shape[-1:] if factored else (),
                                                  name=f"{variable.path}/column"))
            self.velocities.append(self.add_slot(variable, "velocity"))

    def update(self, grads, variables, learning_rate):
        B = _backend.get()
        step = self.local_step()
        inverse_sqrt_step = 1.0 / B.sqrt(step)
        if self.schedule is None and self.relative_step:
            learning_rate = B.minimum(learning_rate, inverse_sqrt_step)
        rho = B.minimum(learning_rate, inverse_sqrt_step)
        decay = 1.0 - B.power(step, self.beta_2_decay)

        def rms(x):
            return B.sqrt(B.mean(B.square(x)))
        for grad, variable in zip(grads, variables):
            i = self._get_variable_index(variable)
            r, c, v = self.rows[i], self.columns[i], self.velocities[i]
            alpha = B.maximum(rms(variable.value), self.epsilon_2) * rho
            squared = B.square(grad) + self.epsilon_1
            if len(variable.shape) >= 2:
                r.assign(decay * r.value + (1.0 - decay) * B.mean(squared, axis=-1))
                c.assign(decay * c.value + (1.0 - decay) * B.mean(squared, axis=-2))
                v.assign(B.expand_dims(r.value / B.mean(r.value, axis=-1, keepdims=True), -1) *
                         B.expand_dims(c.value, -2))
            else:
                v.assign(decay * v.value + (1.0 - decay) * squared)
            u = grad / B.sqrt(v.value)
            variable.assign(variable.value - alpha * u / B.maximum(rms(u) / self.clip_threshold, 1.0))

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step}


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling around another optimizer, for float16 training (Keras 3's LossScaleOptimizer).

    The training step multiplies the loss by `scale_loss` (the current scale) before differentiating, so small
    float16 gradients do not underflow; `apply` divides the gradients by the scale again. When a gradient holds
    an inf or NaN the step is skipped (the weights and the inner optimizer's state stay as they were) and the
    scale is halved; after `dynamic_growth_steps` finite steps in a row it is doubled. The scale and the step
    counter are optimizer Variables and the choice is made with `where`, so all of it runs inside the compiled
    step. Use it under the "mixed_float16" policy (Keras's `compile` wraps the optimizer in one there).

    Args:
        inner_optimizer: the Optimizer that makes the updates.
        initial_scale: the starting loss scale (2**15).
        dynamic_growth_steps: finite steps after which the scale doubles (2000).
        name: the optimizer's name.
    """

    # Entries of Keras 3's config (its base optimizer's) and of Keras 2's ("dynamic"), accepted at these values.
    _CONFIG_DEFAULTS = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None,
                        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                        "loss_scale_factor": None, "gradient_accumulation_steps": None, "dynamic": True}

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000, name=None, **kwargs):
        unknown = sorted(set(kwargs) - set(self._CONFIG_DEFAULTS))
        if unknown:
            raise TypeError(f"LossScaleOptimizer: unexpected keyword argument(s) {unknown}.")
        for key, value in kwargs.items():
            if value != self._CONFIG_DEFAULTS[key] and not (key != "dynamic" and value is None):
                raise NotImplementedError(f"LossScaleOptimizer: `{key}={value!r}` is not supported (set it on the "
                                          f"inner optimizer; only dynamic loss scaling is implemented).")
        if isinstance(inner_optimizer, (str, dict)):
            inner_optimizer = get(inner_optimizer)
        if not isinstance(inner_optimizer, Optimizer) or isinstance(inner_optimizer, LossScaleOptimizer):
            raise ValueError(f"LossScaleOptimizer: `inner_optimizer` must be an Optimizer (not a "
                             f"LossScaleOptimizer), got {inner_optimizer!r}.")
        if isinstance(initial_scale, bool) or not isinstance(initial_scale, (int, float)) or not initial_scale > 0:
            raise ValueError(f"LossScaleOptimizer: `initial_scale` must be a positive number, got {initial_scale!r}.")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) \
                or dynamic_growth_steps < 1:
            raise ValueError(f"LossScaleOptimizer: `dynamic_growth_steps` must be an integer >= 1, got "
                             f"{dynamic_growth_steps!r}.")
        self.inner_optimizer = inner_optimizer
        self.name = name or "loss_scale_optimizer"
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.dynamic_scale = Variable(self.initial_scale, trainable=False, name="dynamic_scale", dtype="float32",
                                      path=f"{self.name}/dynamic_scale")
        self.step_counter = Variable(0, trainable=False, name="step_counter", dtype="int32",
                                     path=f"{self.name}/step_counter")

    def __getattr__(self, name):
        # Everything else (clipnorm, schedule, weight_decay, ...) is the inner optimizer's.
        if name == "inner_optimizer" or "inner_optimizer" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.inner_optimizer, name)

    # ------------------------------------------------------------------ delegated state
    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    def current_learning_rate(self):
        return self.inner_optimizer.current_learning_rate()

    @property
    def _learning_rate(self):
        return self.inner_optimizer._learning_rate

    @property
    def _slots(self):
        return self.inner_optimizer._slots + [self.step_counter, self.dynamic_scale]

    @property
    def _built_for(self):
        return self.inner_optimizer._built_for

    @property
    def _built_variables(self):
        return self.inner_optimizer._built_variables

    def build(self, variables):
        self.inner_optimizer.build(variables)

    @property
    def variables(self):
        """The inner optimizer's state, then the step counter and the loss scale."""
        return self.inner_optimizer.variables + [self.step_counter, self.dynamic_scale]

    # ------------------------------------------------------------------ scaling
    def scale_loss(self, loss):
        """`loss` times the current loss scale (differentiate this; `apply` unscales the gradients)."""
        B = _backend.get()
        return loss * B.cast(self.dynamic_scale.value, B.dtype(loss))

    def apply(self, grads, trainable_variables=None):
        """Unscale `grads`; when all are finite, let the inner optimizer update, else skip the step; then
        adapt the scale."""
        B = _backend.get()
        inner = self.inner_optimizer
        grads = list(grads)
        if trainable_variables is None:
            if inner._built_for is None:
                raise ValueError("LossScaleOptimizer: pass `trainable_variables` on the first apply(), or call "
                                 "build(variables) first.")
            trainable_variables = inner._built_variables
        trainable_variables = list(trainable_variables)
        if inner._built_for is None:
            inner.build(trainable_variables)
        scale = self.dynamic_scale.value
        present = [g for g in grads if g is not None]
        finite = B.all(B.stack([B.all(B.isfinite(g)) for g in present])) if present else B.convert(True)
        unscaled = [None if g is None else B.cast(g, "float32") / scale if B.dtype(g) in ("float16", "bfloat16")
                    else g / B.cast(scale, B.dtype(g)) for g in grads]
        touched = inner.variables + trainable_variables
        before = values_of(touched)
        inner.apply(unscaled, trainable_variables)
        after = values_of(touched)
        bind(touched, [B.where(finite, new, old) for new, old in zip(after, before)])
        counter = B.where(finite, self.step_counter.value + 1, B.zeros_like(self.step_counter.value))
        grow = B.logical_and(finite, counter >= self.dynamic_growth_steps)
        self.dynamic_scale.assign(B.where(finite, B.where(grow, scale * 2.0, scale), scale * 0.5))
        self.step_counter.assign(B.where(grow, B.zeros_like(counter), counter))

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        from mlfront.training import stateless
        return stateless.stateless_apply(self, optimizer_variables, grads, trainable_variables)

    def get_config(self):
        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["inner_optimizer"] = deserialize(config["inner_optimizer"], custom_objects)
        return cls(**config)


ALL = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad, "adadelta": Adadelta,
       "adamax": Adamax, "nadam": Nadam, "ftrl": Ftrl, "lion": Lion, "adafactor": Adafactor,
       "losscaleoptimizer": LossScaleOptimizer}


def serialize(optimizer):
    """Keras's dict form of an optimizer (`{"module", "class_name", "config", "registered_name"}`)."""
    return _serialization.serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None):
    """An optimizer from `serialize`'s dict or a Keras 2 / 3 config (custom classes in `custom_objects`)."""
    found = _serialization.deserialize_keras_object(config, custom_objects, module_objects=ALL)
    found = found() if isinstance(found, type) else found
    if not isinstance(found, Optimizer):
        raise ValueError(f"optimizers.deserialize: {config!r} does not describe an optimizer.")
    return found


def get(identifier):
    """An optimizer from a name ("adam", "sgd", "rmsprop", "adamw", ...), a serialized dict, an Optimizer
    class or instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        found = _serialization.get_registered_object(identifier)
        return (found if found is not None else lookup(ALL, identifier, "optimizer"))()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer {identifier!r}: expected a name "
                     f"({', '.join(sorted(ALL))}) or an Optimizer instance.")
