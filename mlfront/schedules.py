"""Learning-rate schedules (Keras names and formulas), also importable as `mlfront.optimizers.schedules`.

A schedule is a callable `schedule(step) -> learning rate`. The optimizer calls it with its iteration count
inside the compiled training step, so every formula is written on backend scalars without Python branching
on their values (`B.where` picks between branches). Calling a schedule with a Python int works too.

Example:
    schedule = ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
    optimizer = mlfront.optimizers.SGD(learning_rate=schedule)
"""

import math

from mlfront import backend as _backend
from mlfront.saving import serialization as _serialization


def _as_step(step):
    """`step` (Python number or backend array) as a float32 backend scalar."""
    B = _backend.get()
    return B.cast(step, "float32") if B.is_array(step) else B.convert(float(step), "float32")


def _constant(value):
    return _backend.get().convert(float(value), "float32")


def _ceil(B, x):
    return -B.floor(-x)


class LearningRateSchedule:
    """Base class: subclasses implement `__call__(step)` and `get_config()`."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step).")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement get_config().")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _RateDecay(LearningRateSchedule):
    """Shared by the schedules driven by `step / decay_steps` and a `decay_rate` (floored with `staircase`)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        if decay_steps <= 0:
            raise ValueError(f"{type(self).__name__}: `decay_steps` must be > 0, got {decay_steps!r}.")
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name or type(self).__name__

    def _progress(self, step):
        p = _as_step(step) / float(self.decay_steps)
        return _backend.get().floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`; `staircase` floors the exponent.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps over which the rate is multiplied by `decay_rate` once.
        decay_rate: the multiplier.
        staircase: decay at discrete intervals instead of continuously.
    """

    def __call__(self, step):
        return float(self.initial_learning_rate) * float(self.decay_rate) ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[i]` while `boundaries[i-1] < step <= boundaries[i]`,
    `values[-1]` after the last boundary.

    Args:
        boundaries: increasing step numbers.
        values: one more value than boundaries.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: `values` must have one more entry than `boundaries`; got "
                             f"{len(values)} values for {len(boundaries)} boundaries.")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        B = _backend.get()
        step = _as_step(step)
        rate = _constant(self.values[-1])
        for boundary, value in reversed(list(zip(self.boundaries, self.values))):
            rate = B.where(step <= float(boundary), _constant(value), rate)
        return rate

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """`(initial - end) * (1 - step / decay_steps) ** power + end`, with `step` capped at `decay_steps`
    (or, with `cycle`, `decay_steps` stretched to the next multiple above `step`).

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps to reach `end_learning_rate`.
        end_learning_rate: the final rate.
        power: the polynomial's power (1.0 is linear).
        cycle: restart the decay after `decay_steps`.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"PolynomialDecay: `decay_steps` must be > 0, got {decay_steps!r}.")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle, self.name = end_learning_rate, power, cycle, name

    def __call__(self, step):
        B = _backend.get()
        step = _as_step(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            multiplier = B.where(B.equal(step, 0.0), _constant(1.0), _ceil(B, step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = B.minimum(step, decay_steps)
        start, end = float(self.initial_learning_rate), float(self.end_learning_rate)
        return (start - end) * (1.0 - step / decay_steps) ** float(self.power) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_RateDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`; `staircase` floors `step / decay_steps`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: how often to apply the decay.
        decay_rate: the decay factor.
        staircase: decay at discrete intervals instead of continuously.
    """

    def __call__(self, step):
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * self._progress(step))


def _cosine(B, completed_fraction, alpha):
    """`(1 - alpha) * (1 + cos(pi * fraction)) / 2 + alpha`: from 1 down to `alpha`."""
    return (1.0 - alpha) * 0.5 * (1.0 + B.cos(math.pi * completed_fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay from `initial_learning_rate` to `alpha * initial_learning_rate` over `decay_steps`,
    after an optional linear warmup from `initial_learning_rate` to `warmup_target` over `warmup_steps`
    (the decay then starts from `warmup_target`).

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: length of the cosine decay.
        alpha: the final rate as a fraction of the decay's starting rate.
        warmup_target: the rate reached after warmup; None for no warmup.
        warmup_steps: length of the warmup.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"CosineDecay: `decay_steps` must be > 0, got {decay_steps!r}.")
        self.initial_learning_rate, self.decay_steps, self.alpha = initial_learning_rate, decay_steps, alpha
        self.name, self.warmup_target, self.warmup_steps = name, warmup_target, warmup_steps

    def __call__(self, step):
        B = _backend.get()
        step = _as_step(step)
        start, decay_steps, alpha = float(self.initial_learning_rate), float(self.decay_steps), float(self.alpha)
        if self.warmup_target is None:
            return start * _cosine(B, B.minimum(step, decay_steps) / decay_steps, alpha)
        target, warmup_steps = float(self.warmup_target), float(self.warmup_steps)
        step = B.minimum(step, decay_steps + warmup_steps)
        decayed = target * _cosine(B, (step - warmup_steps) / decay_steps, alpha)
        if warmup_steps <= 0:
            return decayed
        warming = start + (target - start) * step / warmup_steps
        return B.where(step < warmup_steps, warming, decayed)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the i-th period lasts `first_decay_steps * t_mul ** i` steps
    and starts from `initial_learning_rate * m_mul ** i`.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: length of the first period.
        t_mul: growth factor of the period length.
        m_mul: factor of the starting rate per restart.
        alpha: the lowest rate as a fraction of `initial_learning_rate`.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        if first_decay_steps <= 0:
            raise ValueError(f"CosineDecayRestarts: `first_decay_steps` must be > 0, got {first_decay_steps!r}.")
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        B = _backend.get()
        fraction = _as_step(step) / float(self.first_decay_steps)
        t_mul = float(self.t_mul)
        if t_mul == 1.0:
            restart = B.floor(fraction)
            fraction = fraction - restart
        else:  # periods grow geometrically: find the period by the sum of the series
            restart = B.floor(B.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            elapsed = (1.0 - t_mul ** restart) / (1.0 - t_mul)
            fraction = (fraction - elapsed) / t_mul ** restart
        alpha = float(self.alpha)
        cosine = 0.5 * float(self.m_mul) ** restart * (1.0 + B.cos(math.pi * fraction))
        return float(self.initial_learning_rate) * ((1.0 - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


ALL = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay,
                                      CosineDecay, CosineDecayRestarts)}


def serialize(schedule):
    """Keras's dict form of a schedule (`{"module", "class_name", "config", "registered_name"}`)."""
    return _serialization.serialize_keras_object(schedule)


def deserialize(config, custom_objects=None):
    """A schedule from `serialize`'s dict or a Keras 2 / 3 config (custom classes in `custom_objects`)."""
    found = _serialization.deserialize_keras_object(config, custom_objects, module_objects=ALL)
    if not isinstance(found, LearningRateSchedule):
        raise ValueError(f"schedules.deserialize: {config!r} does not describe a learning-rate schedule.")
    return found


def get(identifier):
    """A schedule from a schedule instance or a serialized dict."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret learning-rate schedule {identifier!r}: expected a "
                     f"LearningRateSchedule or a dict with 'class_name' and 'config'.")
