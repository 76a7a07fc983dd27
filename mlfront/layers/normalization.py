"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization."""

from mlfront import backend as _backend
from mlfront import constraints as _constraints
from mlfront.distribution import replicas as _replicas
from mlfront.layers.base import Layer, resolve_training, serialized


def _in_variable_dtype(layer, B, inputs):
    """(inputs, their dtype): 16-bit float inputs of a layer with float32 variables (a mixed policy) are cast up,
    so the statistics are computed in float32, as Keras's normalization layers do; the caller casts back."""
    dtype = B.dtype(inputs)
    if dtype in ("float16", "bfloat16") and layer.variable_dtype != dtype:
        return B.cast(inputs, layer.variable_dtype), dtype
    return inputs, dtype


def _normalize_axes(layer, axis, rank):
    """`axis` (int or list of ints) as a sorted tuple of non-negative axes of a rank-`rank` input."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    result = []
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"{type(layer).__name__} '{layer.name}': `axis` {axis!r} is out of range for inputs "
                             f"of rank {rank}.")
        result.append(a % rank)
    if 0 in result and rank > 1:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': `axis` {axis!r} cannot include the batch axis 0.")
    return tuple(sorted(set(result)))


def _check_known(layer, input_shape, axes):
    for a in axes:
        if input_shape[a] is None:
            raise ValueError(f"{type(layer).__name__} '{layer.name}': axis {a} of the input must have a known size, "
                             f"got input shape {tuple(input_shape)}.")


class BatchNormalization(Layer):
    """Normalizes its inputs with the batch's statistics in training and moving averages in inference.

    In training: `gamma * (x - mean(x)) / sqrt(var(x) + epsilon) + beta`, statistics taken over every axis
    but `axis` (variance biased), and the moving statistics are updated as
    `moving = moving * momentum + batch_statistic * (1 - momentum)`. In inference (or when the layer is frozen
    with `trainable = False`) the moving statistics are used instead.

    Args:
        axis: the features axis (normalized per entry along it); -1 for channels_last.
        momentum: momentum of the moving averages.
        epsilon: small float added to the variance.
        center / scale: whether to learn the offset `beta` / the factor `gamma`.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer: initializers.
        beta_regularizer / gamma_regularizer: weight penalties.
        beta_constraint / gamma_constraint: projections applied to beta / gamma after each optimizer step.
        synchronized: under a data-parallel distribution, compute the batch statistics over every replica's
            batch (the global batch), as one device would; without a distribution it changes nothing.

    Weights (in order): gamma, beta (trainable), moving_mean, moving_variance (non-trainable).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, synchronized=False, renorm=False,
                 renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if renorm:  # Keras 3 configs carry the renorm arguments (off there)
            raise NotImplementedError(f"BatchNormalization '{self.name}': renorm=True (batch renormalization) is not "
                                      f"supported; only renorm=False is (renorm_clipping={renorm_clipping!r}, "
                                      f"renorm_momentum={renorm_momentum!r} are then unused).")
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError(f"BatchNormalization '{self.name}': `axis` must be a single integer, got {axis!r}.")
            axis = axis[0]
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer = beta_regularizer
        self.gamma_regularizer = gamma_regularizer
        self.beta_constraint = _constraints.get(beta_constraint)
        self.gamma_constraint = _constraints.get(gamma_constraint)
        self.synchronized = synchronized
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        (self._axis,) = _normalize_axes(self, self.axis, rank)
        _check_known(self, input_shape, (self._axis,))
        self._reduction_axes = tuple(a for a in range(rank) if a != self._axis)
        size = (input_shape[self._axis],)
        self.gamma = self.add_weight("gamma", size, self.gamma_initializer, self.gamma_regularizer,
                                     constraint=self.gamma_constraint, autocast=False) if self.scale else None
        self.beta = self.add_weight("beta", size, self.beta_initializer, self.beta_regularizer,
                                    constraint=self.beta_constraint, autocast=False) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", size, self.moving_mean_initializer, trainable=False,
                                           autocast=False)
        self.moving_variance = self.add_weight("moving_variance", size, self.moving_variance_initializer,
                                               trainable=False, autocast=False)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        B = _backend.get()
        inputs, input_dtype = _in_variable_dtype(self, B, inputs)
        # A frozen layer normalizes with its moving statistics even in training, as in Keras.
        synchronized = self.synchronized and _replicas.current_runtime() is not None
        if resolve_training(training) and self.trainable and mask is None and not synchronized:
            outputs, mean, variance = B.batch_norm_training(
                inputs, self._axis, None if self.gamma is None else self.gamma.value,
                None if self.beta is None else self.beta.value, self.epsilon)
            self._update_moving(B, self.moving_mean, mean)
            self._update_moving(B, self.moving_variance, variance)
            return outputs if B.dtype(outputs) == input_dtype else B.cast(outputs, input_dtype)
        if resolve_training(training) and self.trainable:
            mean, variance = self._moments(B, inputs, mask)
            self._update_moving(B, self.moving_mean, mean)
            self._update_moving(B, self.moving_variance, variance)
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        outputs = B.batch_norm(inputs, self._axis, mean, variance, None if self.gamma is None else self.gamma.value,
                               None if self.beta is None else self.beta.value, self.epsilon)
        return outputs if B.dtype(outputs) == input_dtype else B.cast(outputs, input_dtype)

    def _moments(self, B, inputs, mask):
        """Batch mean and (biased) variance over the reduction axes; masked entries are left out."""
        if mask is None:
            if self.synchronized:  # over every replica's batch in a per-replica distributed step
                return _replicas.batch_moments(inputs, self._reduction_axes)
            return B.mean(inputs, axis=self._reduction_axes), B.var(inputs, axis=self._reduction_axes)
        weights = B.cast(mask, B.dtype(inputs))
        while len(B.shape(weights)) < len(B.shape(inputs)):
            weights = B.expand_dims(weights, -1)
        weights = B.broadcast_to(weights, B.shape(inputs))
        count = B.maximum(B.sum(weights, axis=self._reduction_axes, keepdims=True), 1e-7)
        mean = B.sum(inputs * weights, axis=self._reduction_axes, keepdims=True) / count
        variance = B.sum(B.square(inputs - mean) * weights, axis=self._reduction_axes, keepdims=True) / count
        return B.reshape(mean, (-1,)), B.reshape(variance, (-1,))

    def _update_moving(self, B, variable, batch_value):
        batch_value = B.stop_gradient(batch_value)
        variable.assign(variable.value * self.momentum + batch_value * (1.0 - self.momentum))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
                "center": self.center, "scale": self.scale,
                **serialized(beta_initializer=self.beta_initializer, gamma_initializer=self.gamma_initializer,
                             moving_mean_initializer=self.moving_mean_initializer,
                             moving_variance_initializer=self.moving_variance_initializer,
                             beta_regularizer=self.beta_regularizer, gamma_regularizer=self.gamma_regularizer,
                             beta_constraint=self.beta_constraint, gamma_constraint=self.gamma_constraint),
                "synchronized": self.synchronized}


class LayerNormalization(Layer):
    """Normalizes each sample over `axis`: `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    Args:
        axis: the axis or axes normalized over (and the shape of gamma / beta); -1 by default.
        epsilon: small float added to the variance.
        center / scale: whether to learn the offset `beta` / the factor `gamma`.
        beta_initializer, gamma_initializer: initializers; beta_regularizer, gamma_regularizer: penalties.
        beta_constraint / gamma_constraint: projections applied to beta / gamma after each optimizer step.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        if rms_scaling:  # in Keras 3 configs (False there)
            raise NotImplementedError(f"LayerNormalization '{self.name}': rms_scaling=True (RMS normalization) is "
                                      f"not supported; only False is.")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.beta_regularizer = beta_regularizer
        self.beta_constraint = _constraints.get(beta_constraint)
        self.gamma_constraint = _constraints.get(gamma_constraint)
        self.gamma_regularizer = gamma_regularizer
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        self._axes = _normalize_axes(self, self.axis, rank)
        _check_known(self, input_shape, self._axes)
        size = tuple(input_shape[a] for a in self._axes)
        self.gamma = self.add_weight("gamma", size, self.gamma_initializer, self.gamma_regularizer,
                                     constraint=self.gamma_constraint, autocast=False) if self.scale else None
        self.beta = self.add_weight("beta", size, self.beta_initializer, self.beta_regularizer,
                                    constraint=self.beta_constraint, autocast=False) if self.center else None
        self.built = True

    def call(self, inputs):
        B = _backend.get()
        inputs, input_dtype = _in_variable_dtype(self, B, inputs)
        outputs = B.layer_norm(inputs, self._axes, None if self.gamma is None else self.gamma.value,
                               None if self.beta is None else self.beta.value, self.epsilon)
        return outputs if B.dtype(outputs) == input_dtype else B.cast(outputs, input_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "rms_scaling": False,
                "scale": self.scale,
                **serialized(beta_initializer=self.beta_initializer, gamma_initializer=self.gamma_initializer,
                             beta_regularizer=self.beta_regularizer, gamma_regularizer=self.gamma_regularizer,
                             beta_constraint=self.beta_constraint, gamma_constraint=self.gamma_constraint)}


class GroupNormalization(Layer):
    """Normalizes each sample over groups of channels: the channels on `axis` are split into `groups` equal
    groups, each normalized over its channels and all other non-batch axes, then `gamma` and `beta` (one per
    channel) applied. `groups=1` is LayerNormalization over all axes; `groups=channels`, InstanceNormalization.

    Args:
        groups: the number of groups; must divide the channels.
        axis: the channel axis (-1 by default).
        epsilon, center, scale, beta_*/gamma_* initializers, regularizers and constraints: as in
            LayerNormalization.
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ValueError(f"GroupNormalization '{self.name}': `groups` must be an integer >= 1, got {groups!r}.")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"GroupNormalization '{self.name}': `axis` must be one integer, got {axis!r}.")
        self.groups, self.axis, self.epsilon = groups, axis, float(epsilon)
        self.center, self.scale = center, scale
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint = _constraints.get(beta_constraint)
        self.gamma_constraint = _constraints.get(gamma_constraint)

    def build(self, input_shape):
        rank = len(input_shape)
        (self._axis,) = _normalize_axes(self, self.axis, rank)
        _check_known(self, input_shape, (self._axis,))
        channels = input_shape[self._axis]
        if channels < self.groups or channels % self.groups:
            raise ValueError(f"GroupNormalization '{self.name}': `groups` ({self.groups}) must divide the "
                             f"{channels} channels on axis {self.axis} (input shape {tuple(input_shape)}).")
        self.gamma = self.add_weight("gamma", (channels,), self.gamma_initializer, self.gamma_regularizer,
                                     constraint=self.gamma_constraint, autocast=False) if self.scale else None
        self.beta = self.add_weight("beta", (channels,), self.beta_initializer, self.beta_regularizer,
                                    constraint=self.beta_constraint, autocast=False) if self.center else None
        self.built = True

    def call(self, inputs, mask=None):
        if mask is not None:
            raise NotImplementedError(f"GroupNormalization '{self.name}': masked inputs are not supported (the "
                                      f"statistics would include the masked steps).")
        B = _backend.get()
        inputs, input_dtype = _in_variable_dtype(self, B, inputs)
        shape = tuple(B.shape(inputs))
        axis, channels = self._axis, shape[self._axis]
        grouped = B.reshape(inputs, shape[:axis] + (self.groups, channels // self.groups) + shape[axis + 1:])
        reduce = tuple(a for a in range(1, len(shape) + 1) if a != axis)  # all but the batch and group axes
        mean = B.mean(grouped, axis=reduce, keepdims=True)
        variance = B.var(grouped, axis=reduce, keepdims=True)
        outputs = B.reshape((grouped - mean) * B.rsqrt(variance + self.epsilon), shape)
        param_shape = tuple(channels if a == axis else 1 for a in range(len(shape)))
        if self.gamma is not None:
            outputs = outputs * B.reshape(self.gamma.value, param_shape)
        if self.beta is not None:
            outputs = outputs + B.reshape(self.beta.value, param_shape)
        return outputs if B.dtype(outputs) == input_dtype else B.cast(outputs, input_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **serialized(beta_initializer=self.beta_initializer, gamma_initializer=self.gamma_initializer,
                             beta_regularizer=self.beta_regularizer, gamma_regularizer=self.gamma_regularizer,
                             beta_constraint=self.beta_constraint, gamma_constraint=self.gamma_constraint)}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis` (an int or a list), as Keras computes it:
    `x * min(1 / sqrt(sum(x**2)), 1e12)`, so an all-zero sample stays zero."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.supports_masking = True

    def build(self, input_shape):
        self._axes = _normalize_axes(self, self.axis, len(input_shape))
        self.built = True

    def call(self, inputs):
        B = _backend.get()
        inputs, input_dtype = _in_variable_dtype(self, B, inputs)
        inverse_norm = B.minimum(B.rsqrt(B.sum(B.square(inputs), axis=self._axes, keepdims=True)), 1e12)
        outputs = inputs * inverse_norm
        return outputs if B.dtype(outputs) == input_dtype else B.cast(outputs, input_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
