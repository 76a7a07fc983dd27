"""What `Model.compile` sets up: the losses and metrics per output, matched to the model's outputs.

Losses, `loss_weights` and metrics may be given once (applied to every output), as a list (in output
order) or as a dict keyed by output name, as in Keras.
"""

from mlfront import backend as _backend
from mlfront import losses as _losses
from mlfront import metrics as _metrics


def _per_output(spec, output_names, what, lists_are_per_output=False):
    """`spec` expanded to one entry per output (None where an output has none). With
    `lists_are_per_output` (losses, loss weights: one value per output) a list for a single-output model is
    that output's entry, as in Keras (`loss_weights=[0.5]`); a metrics list stays that output's list."""
    if isinstance(spec, dict):
        unknown = set(spec) - set(output_names)
        if unknown:
            raise ValueError(f"compile: {what} given for unknown output(s) {sorted(unknown)}; "
                             f"the model's outputs are {output_names}.")
        return [spec.get(name) for name in output_names]
    if isinstance(spec, (list, tuple)) and (len(output_names) > 1 or lists_are_per_output):
        if len(spec) != len(output_names):
            raise ValueError(f"compile: {what} is a list of {len(spec)} entries but the model has "
                             f"{len(output_names)} outputs {output_names}.")
        return list(spec)
    return [spec] * len(output_names)


def flatten_outputs(values, output_names):
    """Model outputs or targets (array, list or dict) as a list in output order."""
    if isinstance(values, dict):
        missing = [n for n in output_names if n not in values]
        if missing:
            raise ValueError(f"Targets are missing for output(s) {missing}; got keys {sorted(values)}.")
        return [values[n] for n in output_names]
    if isinstance(values, (list, tuple)):
        return list(values)
    return [values]


class CompiledLoss:
    """The total training loss: the weighted sum of each output's loss."""

    def __init__(self, loss, loss_weights, output_names):
        self.output_names = list(output_names)
        self.losses = [None if spec is None else _losses.get(spec)
                       for spec in _per_output(loss, self.output_names, "loss", True)]
        weights = _per_output(loss_weights, self.output_names, "loss_weights", True) if loss_weights is not None \
            else [1.0] * len(self.output_names)
        self.loss_weights = [1.0 if w is None else float(w) for w in weights]
        if all(l is None for l in self.losses):
            raise ValueError("compile: no loss given; pass `loss=` (e.g. 'mse' or 'categorical_crossentropy').")

    def __call__(self, y_true, y_pred, sample_weight=None):
        """(total loss, [per-output losses]) for one batch."""
        y_true = flatten_outputs(y_true, self.output_names)
        y_pred = flatten_outputs(y_pred, self.output_names)
        weights = flatten_outputs(sample_weight, self.output_names) if isinstance(sample_weight, (list, dict)) \
            else [sample_weight] * len(y_pred)
        per_output = []
        total = 0.0
        for loss, weight, t, p, sw in zip(self.losses, self.loss_weights, y_true, y_pred, weights):
            if loss is None:
                continue
            value = loss(t, p, sw)
            per_output.append(value)
            total = total + weight * value
        return total, per_output


class CompiledMetrics:
    """The metrics of each output, built on the first batch (when "accuracy" can be resolved from shapes).

    As in Keras, `metrics` ignore the sample weights (and class weights) and `weighted_metrics` use them; a
    weighted metric whose name is already taken by an unweighted one is reported as "weighted_<name>".
    """

    def __init__(self, metrics, output_names, losses, weighted_metrics=None):
        for what, spec in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if spec is not None and not isinstance(spec, (list, tuple, dict)) and len(output_names) > 1:
                raise ValueError(f"compile: `{what}` must be a list or a dict for a model with several outputs "
                                 f"{list(output_names)}, got {spec!r}.")
        self.spec = metrics
        self.weighted_spec = weighted_metrics
        self.output_names = list(output_names)
        self.losses = list(losses) if losses is not None else [None] * len(self.output_names)
        self.built = False
        self.metrics = []  # (output index, Metric, weighted)

    def build(self, y_true, y_pred):
        B = _backend.get()
        names = self.output_names
        y_true = flatten_outputs(y_true, names)
        y_pred = flatten_outputs(y_pred, names)
        taken = set()
        for weighted, spec in ((False, self.spec), (True, self.weighted_spec)):
            specs = _per_output(spec, names, "weighted_metrics" if weighted else "metrics") \
                if spec is not None else [None] * len(names)
            for index, entry in enumerate(specs):
                if entry is None:
                    continue
                for item in (entry if isinstance(entry, (list, tuple)) else [entry]):
                    metric = _metrics.get(item, loss=self.losses[index], y_true_shape=B.shape(y_true[index]),
                                          y_pred_shape=B.shape(y_pred[index]))
                    prefix = f"{names[index]}_" if len(names) > 1 else ""
                    if weighted and prefix + metric.name in taken:
                        metric.name = f"weighted_{metric.name}"
                    metric.name = prefix + metric.name
                    taken.add(metric.name)
                    self.metrics.append((index, metric, weighted))
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        names = self.output_names
        y_true = flatten_outputs(y_true, names)
        y_pred = flatten_outputs(y_pred, names)
        weights = flatten_outputs(sample_weight, names) if isinstance(sample_weight, (list, dict)) \
            else [sample_weight] * len(y_pred)
        for index, metric, weighted in self.metrics:
            metric.update_state(y_true[index], y_pred[index], weights[index] if weighted else None)

    @property
    def variables(self):
        return [v for _, metric, _ in self.metrics for v in metric.variables]
