"""The one training core for every engine: compile / fit / evaluate / predict.

Each step is a pure function of (state values, batch, random key) -> (new state values, new key). The
state is every Variable the step touches: the model's weights, the optimizer's and the metrics'. The step
binds the values to the Variables, runs ordinary (stateful-looking) layer, loss, optimizer and metric code,
and returns the values the Variables hold at the end. The backend's `compile` turns that into jax.jit,
tf.function or plain eager torch, traced once; the loop outside only moves references.
"""

import collections.abc
import contextlib
import threading

import numpy as np

from mlfront import backend as _backend
from mlfront import distribution as _distribution
from mlfront import mixed_precision as _mixed_precision
from mlfront import optimizers as _optimizers
from mlfront.backend.context import call_context
from mlfront.layers import base as _layer_base
from mlfront.distribution import replicas as _replicas
from mlfront.callbacks import CallbackList, History, Progbar, ProgbarLogger
from mlfront.metrics import Mean, Metric
from mlfront.random import KeyStream, new_seed
from mlfront.training import data as _data
from mlfront.training import input_dtypes
from mlfront.training.compile_utils import CompiledLoss, CompiledMetrics
from mlfront.variables import bind, private_values, values_of


_host_state = threading.local()


@contextlib.contextmanager
def host_inputs_ready():
    """Inside: the model inputs are already past the model's host layers (as in the compiled steps)."""
    previous = getattr(_host_state, "ready", False)
    _host_state.ready = True
    try:
        yield
    finally:
        _host_state.ready = previous


def host_inputs_are_ready():
    """True inside `host_inputs_ready()` (on this thread)."""
    return getattr(_host_state, "ready", False)


class LazyLogs(collections.abc.MutableMapping):
    """Batch logs whose values are read from the device only when someone looks at them (a callback that
    reads no batch logs costs no device sync). A mapping like Keras's logs dict; `copy()` gives a dict."""

    def __init__(self, compute):
        self._compute = compute
        self._values = None

    def _filled(self):
        if self._values is None:
            self._values = dict(self._compute())
        return self._values

    def __getitem__(self, key):
        return self._filled()[key]

    def __setitem__(self, key, value):
        self._filled()[key] = value

    def __delitem__(self, key):
        del self._filled()[key]

    def __iter__(self):
        return iter(self._filled())

    def __len__(self):
        return len(self._filled())

    def copy(self):
        return dict(self._filled())

    def __repr__(self):
        return repr(self._filled())


class Trainer:
    """compile / fit / evaluate / predict for `Model`."""

    compiled = False
    jit_compile = "auto"
    _rng_key = None  # the key the next compiled step splits for its random draws (Dropout)
    _fit_position = (0, 0)  # (epoch, batch) of the next train step of the current or last fit
    _fit_shuffle_seed = None
    _resume = None  # where the next fit starts, from restore_training_state(..., resume=True)
    _train_fn = _test_fn = _predict_fn = None
    _step_variables = None  # cached per compiled step: walking the layer tree every step costs time in eager torch
    _step_regularized = None
    _output_loss_trackers = []
    _step_input_free_losses = None  # cached per compiled step, like _step_regularized
    _layer_metrics_cache = (None, [])  # (add_metric version, the metrics layers created with add_metric)
    steps_per_execution = 1
    _has_host_layers = False  # the model starts with host (NumPy) layers, applied to each batch by the data

    def _host_hook(self):
        """`host_preprocess` for the data adapters when the model has host layers, else None."""
        return self.host_preprocess if self._has_host_layers else None

    def _data_dtypes(self):
        """How the data adapters cast boolean / integer x and y: by the model's inputs and by the loss."""
        return {"x_dtypes": input_dtypes.input_spec(self), "y_dtypes": input_dtypes.target_spec(self)}

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, jit_compile="auto", steps_per_execution=1, **kwargs):
        """Configure training.

        Args:
            optimizer: name ("adam", "sgd", "rmsprop") or Optimizer.
            loss: name, Loss, or function `fn(y_true, y_pred)`; a list or dict for several outputs. May be
                None when the model adds its own losses with `add_loss`.
            metrics: list of names ("accuracy", "mae"), Metrics or functions; per output as list or dict.
                They ignore sample and class weights, as in Keras.
            loss_weights: per-output weights of the total loss.
            weighted_metrics: metrics computed with the sample (and class) weights.
            run_eagerly: run steps without compiling them (for debugging).
            jit_compile: "auto" (the engine's default: jax.jit; eager torch; on tensorflow a tf.function,
                compiled by XLA where that pays: small graphs without convolutions), True (the engine's
                strongest compiler: XLA on jax and tensorflow, torch.compile on torch; a warning and the
                default mode where it cannot compile the model), False (no compilation), or a mode the
                engine names in `Backend.compile_modes` ("xla", "torch.compile").
            steps_per_execution: how many batches one compiled call trains (or evaluates, predicts) on;
                callbacks' batch hooks then run once per call, as in Keras.
        """
        if kwargs:
            raise TypeError(f"compile: unexpected keyword argument(s) {sorted(kwargs)}.")
        modes = ("auto", True, False) + tuple(_backend.get().compile_modes)
        if not any(jit_compile is mode or jit_compile == mode and isinstance(mode, str) for mode in modes):
            raise ValueError(f"compile: `jit_compile` must be one of {list(modes)} on the "
                             f"{_backend.get().name} backend, got {jit_compile!r}.")
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, (int, np.integer)) \
                or steps_per_execution < 1:
            raise ValueError(f"compile: `steps_per_execution` must be an integer >= 1, got "
                             f"{steps_per_execution!r}.")
        self.optimizer = _optimizers.get(optimizer)
        if self.dtype_policy.name == "mixed_float16" and not isinstance(self.optimizer, _optimizers.LossScaleOptimizer):
            self.optimizer = _optimizers.LossScaleOptimizer(self.optimizer)  # float16 gradients need loss scaling
        self._compile_args = dict(loss=loss, metrics=metrics, loss_weights=loss_weights,
                                  weighted_metrics=weighted_metrics)
        self.compiled_loss = CompiledLoss(loss, loss_weights, self.output_names) if loss is not None else None
        if loss is None and loss_weights is not None:
            raise ValueError("compile: `loss_weights` needs a `loss`.")
        self.compiled_metrics = CompiledMetrics(
            metrics, self.output_names, self.compiled_loss.losses if self.compiled_loss else None,
            weighted_metrics) if metrics is not None or weighted_metrics is not None else None
        self.steps_per_execution = int(steps_per_execution)
        self.loss_tracker = Mean(name="loss")
        # With several outputs Keras also reports each output's (unweighted) loss as "<output>_loss".
        self._output_loss_trackers = [Mean(name=f"{name}_loss") for name, fn in zip(
            self.output_names, self.compiled_loss.losses) if fn is not None] if self.compiled_loss and len(
            self.output_names) > 1 else []
        self.run_eagerly = run_eagerly
        self.jit_compile = False if run_eagerly else jit_compile
        self.compiled = True
        self._train_fn = self._test_fn = self._predict_fn = None
        self._rng_key = None
        self.stop_training = False

    @property
    def loss(self):
        return self._compile_args["loss"] if self.compiled else None

    @property
    def metrics(self):
        """The metrics fit reports: the loss tracker, then the compiled metrics."""
        if not self.compiled:
            return []
        compiled = [m for _, m, _ in self.compiled_metrics.metrics] if self.compiled_metrics else []
        listed = [self.loss_tracker] + self._output_loss_trackers + compiled + self._added_layer_metrics()
        # Metrics a subclass holds as attributes (updated by its own train_step) are tracked too, as in Keras.
        return listed + [m for m in vars(self).values() if isinstance(m, Metric) and all(m is not n for n in listed)]

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def _added_layer_metrics(self):
        """The metrics layers created with Keras 2's `add_metric` (re-collected only when one was created)."""
        version, found = self._layer_metrics_cache
        if version != _layer_base._added_metric_version[0]:
            found = self._layer_metrics()
            self._layer_metrics_cache = (_layer_base._added_metric_version[0], found)
        return found

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    # ------------------------------------------------------------------ the pure step functions
    def compute_loss(self, x, y, y_pred, sample_weight=None):
        """The training loss of one batch: the compiled loss, plus the weight regularization penalties, plus the
        losses the layers added with `add_loss` in this batch's forward pass."""
        return self._loss_terms(x, y, y_pred, sample_weight)[0]

    def _loss_terms(self, x, y, y_pred, sample_weight):
        """(the training loss, the per-output losses of the compiled loss or None), computed once per step.
        A subclass's own `compute_loss` is called instead (its per-output losses are then left to the logs)."""
        if type(self).compute_loss is not Trainer.compute_loss:
            return self.compute_loss(x, y, y_pred, sample_weight), None
        B = _backend.get()
        added = _layer_base.added_losses()
        free = self._step_input_free_losses if self._step_input_free_losses is not None else \
            self._input_free_loss_functions()
        if self.compiled_loss is None and not added and not free:
            raise ValueError(f"Model '{self.name}' was compiled without a loss and adds none with add_loss(); "
                             f"pass `loss=` to compile().")
        total, per_output = self.compiled_loss(y, y_pred, sample_weight) if self.compiled_loss is not None \
            else (0.0, None)
        regularized = self._step_regularized if self._step_regularized is not None else self.regularized_variables()
        for variable, regularizer in regularized:
            total = total + regularizer(variable.value)
        for value in added + [fn() for fn in free]:
            total = total + B.sum(B.cast(value, "float32"))
        return total, per_output

    def _input_free_loss_functions(self):
        return [fn for layer in [self] + _layer_base.nested_layers(self) for fn in layer._input_free_losses]

    def train_step(self, data):
        """One optimization step on `data = (x, y, sample_weight)`; override to customise training.

        Runs inside the compiled step: use `mlfront.ops` / `mlfront.value_and_grad`, and update state by
        assigning to Variables.
        """
        B = _backend.get()
        x, y, sample_weight = data
        trainable, non_trainable = self._step_variables or (self.trainable_variables,
                                                            self.non_trainable_variables)
        start_values = values_of(trainable)

        added_metrics = []
        # Dynamic loss scaling (mixed_float16): the gradient is taken of the scaled loss; the optimizer's apply
        # unscales the gradients and skips the step when one is not finite.
        loss_scaler = self.optimizer if isinstance(self.optimizer, _optimizers.LossScaleOptimizer) else None

        def loss_fn(values):
            bind(trainable, values)
            y_pred = _mixed_precision.outputs_to_float32(self(x, training=True))  # losses compute in float32
            pending = _layer_base.added_metric_values()  # add_metric values leave the gradient trace as aux
            added_metrics[:] = [metric for metric, _ in pending]
            loss, per_output = self._loss_terms(x, y, y_pred, sample_weight)
            aux = (loss, y_pred, per_output, values_of(non_trainable), [value for _, value in pending])
            return (loss if loss_scaler is None else loss_scaler.scale_loss(loss)), aux

        (_, (loss, y_pred, per_output, new_non_trainable, metric_values)), grads = B.value_and_grad(
            loss_fn, has_aux=True)(start_values)  # `loss` unscaled, for the logs
        bind(trainable, start_values)
        bind(non_trainable, new_non_trainable)
        # The metrics first: under data parallelism their sums then ride in the gradients' all-reduce.
        self._update_metrics(loss, x, y, y_pred, sample_weight, list(zip(added_metrics, metric_values)), per_output)
        self.optimizer.apply(grads, trainable)

    def test_step(self, data):
        """One evaluation step on `data = (x, y, sample_weight)`: the loss and metrics, no update."""
        x, y, sample_weight = data
        y_pred = _mixed_precision.outputs_to_float32(self(x, training=False))  # losses compute in float32
        loss, per_output = self._loss_terms(x, y, y_pred, sample_weight)
        return self._update_metrics(loss, x, y, y_pred, sample_weight, output_losses=per_output)

    def predict_step(self, data):
        """The model's outputs on the inputs of one batch."""
        x = data[0] if isinstance(data, tuple) else data
        return self(x, training=False)

    def _update_metrics(self, loss, x, y, y_pred, sample_weight, added_metric_values=None, output_losses=None):
        B = _backend.get()
        if added_metric_values is None:
            added_metric_values = _layer_base.added_metric_values()
        for metric, value in added_metric_values:
            metric.update_state(value)
        # Weighted by the batch size, so the epoch loss is the mean over samples, as in Keras.
        batch_size = float(B.shape(_data.flatten(x)[0])[0])
        self.loss_tracker.update_state(loss, sample_weight=batch_size)
        if self._output_loss_trackers:
            if output_losses is None:  # a custom compute_loss: the compiled per-output losses, for the logs
                output_losses = self.compiled_loss(y, y_pred, sample_weight)[1]
            for tracker, value in zip(self._output_loss_trackers, output_losses):
                tracker.update_state(value, sample_weight=batch_size)
        if self.compiled_metrics is not None:
            self.compiled_metrics.update_state(y, y_pred, sample_weight)

    def _state_variables(self, kind):
        model = self.trainable_variables + self.non_trainable_variables
        if kind == "predict":
            return model
        metrics = [v for m in self.metrics for v in m.variables]
        return model + metrics + (self.optimizer.variables if kind == "train" else [])

    def _make_step(self, kind):
        """A compiled pure function (state values, batches, key) -> (new state values, key), run on one batch
        by `run(batch)` and on several (`steps_per_execution`) in one compiled call by `run.many(batches)`."""
        B = _backend.get()
        state = self._state_variables(kind)
        self._step_variables = (self.trainable_variables, self.non_trainable_variables)
        self._step_regularized = self.regularized_variables()
        self._step_input_free_losses = self._input_free_loss_functions()
        body = {"train": self.train_step, "test": self.test_step}.get(kind)
        training = kind == "train"
        traced = B.compile_traces(self.jit_compile)
        runtime = _distribution.active_runtime()

        def step(values, batches, key):
            # Traced (jax, tensorflow): the placeholders bound here stay private to this thread and vanish with
            # the trace, so threads calling the model meanwhile see its real weights. Eager torch binds in place.
            with private_values() if traced else contextlib.nullcontext():
                bind(state, values)
                stream = KeyStream(key)
                try:
                    with call_context(training, stream):
                        if body is None:
                            return [self.predict_step(data) for data in batches], stream.key
                        for data in batches:
                            _replicas.note_batch(data)  # weights this replica's gradients (data parallel)
                            body(data)
                    return values_of(state), stream.key
                finally:
                    if traced:
                        _layer_base.clear_added_losses()  # traced values must not outlive the trace

        if self._has_host_layers:
            step = _with_host_inputs_ready(step)
        if runtime is None:  # train and test steps hand over the state they replace (see run below)
            compiled = B.compile(step, jit=self.jit_compile) if kind == "predict" else \
                B.compile_donating(step, jit=self.jit_compile)
        else:  # every process starts from process 0's weights, and runs the step on its share of each batch
            bind(state, runtime.broadcast(values_of(state)))
            if runtime.per_replica:
                step = _replicas.per_replica_step(step, state, runtime, kind)
            compiled = runtime.compile(step, self.jit_compile, state, kind)
        replacement = []  # the step rebuilt when the first call created metrics (add_metric inside the step)

        def execute(batches):
            if replacement:
                return replacement[0].many(batches)
            if kind != "predict" and not hasattr(execute, "checked"):
                execute.checked = True
                known, saved, key = {id(m) for m in self.metrics}, values_of(state), self._rng_key
                result = execute_compiled(batches)
                created = [m for m in self.metrics if id(m) not in known]
                if created:  # their variables were not part of the step's state: run again with them
                    bind(state, saved)
                    self._rng_key = key
                    for variable in (v for metric in created for v in metric.variables):
                        variable.assign(np.zeros(variable.shape, variable.dtype))  # it holds a traced value
                    replacement.append(self._make_step(kind))
                    setattr(self, f"_{kind}_fn", replacement[0])
                    return replacement[0].many(batches)
                return result
            return execute_compiled(batches)

        def execute_compiled(batches):
            outputs, self._rng_key = compiled(values_of(state), list(batches), self._rng_key)
            if kind == "predict":
                return outputs
            bind(state, outputs)

        def run(data):
            outputs = execute([data])
            return outputs[0] if kind == "predict" else None

        run.many = execute
        run.runtime = runtime
        return run

    def _prepare(self, first_batch, kind):
        """Build what the first batch needs: model weights, metrics, optimizer slots, the compiled step."""
        B = _backend.get()
        if self._rng_key is None:
            self._rng_key = B.rng_key(_shared_seed())
        x, y, sample_weight = first_batch
        # compiled_metrics is None when compile() got no loss (a custom train_step computes its own).
        unbuilt_metrics = kind != "predict" and self.compiled_metrics is not None and not self.compiled_metrics.built
        if not self.built or unbuilt_metrics:
            with call_context(False), host_inputs_ready():
                y_pred = self(x, training=False)
            if unbuilt_metrics:
                self.compiled_metrics.build(y, y_pred)
        if kind == "train" and self.optimizer._built_for is None:
            self.optimizer.build(self.trainable_variables)
        attr = f"_{kind}_fn"
        made = getattr(self, attr)
        if made is None or made.runtime is not _distribution.active_runtime():  # none yet, or made for another
            setattr(self, attr, self._make_step(kind))
        return getattr(self, attr)

    def _assert_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"Model '{self.name}' must be compiled before {what}(); call "
                               f"model.compile(optimizer=..., loss=...) first.")

    def _logs(self, prefix=""):
        B = _backend.get()
        values = {prefix + m.name: B.to_numpy(m.result()) for m in self.metrics}
        return {name: float(v) if np.ndim(v) == 0 else np.asarray(v) for name, v in values.items()}  # F1 per class

    # ------------------------------------------------------------------ fit / evaluate / predict
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, max_queue_size=None, workers=None, use_multiprocessing=False, **kwargs):
        """Train for `epochs` epochs; returns a `History` whose `.history` holds the per-epoch logs.

        `validation_freq`: validate every that many epochs (an int), or after the epochs listed (1-based, a
        list), as in Keras. `max_queue_size`, `workers` and `use_multiprocessing` are Keras 2's loading
        options for generators and PyDatasets (see `mlfront.training.data.adapt`).
        """
        if kwargs:
            raise TypeError(f"fit: unexpected keyword argument(s) {sorted(kwargs)}.")
        self._assert_compiled("fit")
        _check_fit_arguments(batch_size=batch_size, epochs=epochs, steps_per_epoch=steps_per_epoch,
                             validation_split=validation_split, validation_steps=validation_steps,
                             validation_batch_size=validation_batch_size, initial_epoch=initial_epoch)
        _check_validation_freq(validation_freq)
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = _data.split_validation(x, y, sample_weight, validation_split)
        self._check_inputs(x)
        loading = dict(max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing)
        train_data = _data.adapt(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                                 steps=steps_per_epoch, class_weight=class_weight, preprocess=self._host_hook(),
                                 **loading, **self._data_dtypes())
        self._check_inputs(x, train_data, "fit")
        verbose = 1 if verbose == "auto" else verbose
        self.history = History()
        callback_list = list(callbacks or []) + ([ProgbarLogger(verbose)] if verbose else []) + [self.history]
        callback_list = CallbackList(callback_list, self, {"epochs": epochs, "steps": train_data.steps,
                                                           "verbose": verbose})
        self.stop_training = False
        if getattr(train_data, "shuffle", False):
            train_data.shuffle_seed = _shared_seed()  # each epoch's order comes from (seed, epoch): restorable
        self._fit_position = (initial_epoch, 0)
        try:
            callback_list.on_train_begin()
            logs = self._fit_epochs(train_data, callback_list, initial_epoch, epochs, validation_data,
                                    validation_freq, validation_batch_size or batch_size, validation_steps, loading)
            callback_list.on_train_end(logs)
        except BaseException:
            # Ctrl-C, or an error from a callback, the data or the step: files are closed and loader threads
            # stopped (the epoch's batch iterator is closed on its way out), then the original error goes on.
            # on_train_end is not called: it would treat the run as finished (BackupAndRestore deletes its backup).
            callback_list.release_resources()
            raise
        return self.history

    def _fit_epochs(self, train_data, callback_list, initial_epoch, epochs, validation_data, validation_freq,
                    validation_batch_size, validation_steps, loading):
        """The epochs of `fit`; returns the last epoch's logs."""
        train = None
        logs = {}
        resume, self._resume = self._resume, None  # set by restore_training_state(resume=True)
        first_step = 0
        if resume is not None:
            initial_epoch, first_step = resume["epoch"], resume["step"]
            if resume["shuffle_seed"] is not None:
                train_data.shuffle_seed = resume["shuffle_seed"]
        self._fit_shuffle_seed = train_data.shuffle_seed
        validation = None  # the validation data's adapter, made (and checked) once, before it is first needed
        for epoch in range(initial_epoch, epochs):
            skip = first_step if epoch == initial_epoch else 0
            self._fit_position = (epoch, skip)
            self.reset_metrics()
            train_data.epoch = epoch
            callback_list.on_epoch_begin(epoch)
            with contextlib.closing(train_data.batches(skip)) as epoch_batches:
                for first, batches in _executions(epoch_batches, skip, self.steps_per_execution):
                    if train is None:
                        train = self._prepare(batches[0], "train")
                    last = first + len(batches) - 1
                    callback_list.on_train_batch_begin(first)
                    train.many(batches)
                    self._fit_position = (epoch, last + 1)
                    callback_list.on_train_batch_end(last, LazyLogs(self._logs))
                    if self.stop_training:
                        break
            train_data.on_epoch_end()
            logs = self._logs()
            if validation_data is not None and _validates_after(epoch, validation_freq):
                if validation is None:
                    val_x, val_y, val_sw = _data.unpack_validation_data(validation_data)
                    validation = self._evaluation_data(val_x, val_y, val_sw, validation_batch_size,
                                                       validation_steps, loading, "fit (validation_data)")
                self._evaluate_batches(validation, callback_list)  # the fit's callbacks see on_test_*
                logs.update(self._logs(prefix="val_"))
            self._fit_position = (epoch + 1, 0)
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        return logs

    def _evaluation_data(self, x, y, sample_weight, batch_size, steps, loading, where):
        """The checked data adapter of evaluate (or of fit's validation data)."""
        self._check_inputs(x, where=where)
        eval_data = _data.adapt(x, y, sample_weight, batch_size=batch_size, shuffle=False, steps=steps,
                                preprocess=self._host_hook(), **(loading or {}), **self._data_dtypes())
        self._check_inputs(x, eval_data, where)
        return eval_data

    def _evaluate_batches(self, eval_data, callback_list):
        """Loss and metrics over `eval_data`'s batches, with `callback_list`'s test hooks; returns (logs, steps)."""
        self.reset_metrics()
        callback_list.on_test_begin()
        test = None
        step = -1
        with contextlib.closing(eval_data.batches()) as eval_batches:  # loader threads stop on an error too
            for first, batches in _executions(eval_batches, 0, self.steps_per_execution):
                if test is None:
                    test = self._prepare(batches[0], "test")
                step = first + len(batches) - 1
                callback_list.on_test_batch_begin(first)
                test.many(batches)
                callback_list.on_test_batch_end(step, LazyLogs(self._logs))
        eval_data.on_epoch_end()
        if test is None:
            raise ValueError("evaluate: the data yielded no batch.")
        logs = self._logs()
        callback_list.on_test_end(logs)
        return logs, step + 1

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, max_queue_size=None, workers=None, use_multiprocessing=False,
                 **kwargs):
        """The loss and metrics on the data: a scalar (loss only), a list `[loss, *metrics]`, or a dict."""
        if kwargs:
            raise TypeError(f"evaluate: unexpected keyword argument(s) {sorted(kwargs)}.")
        self._assert_compiled("evaluate")
        _check_count("batch_size", batch_size, 1, "evaluate")
        _check_count("steps", steps, 1, "evaluate")
        verbose = 1 if verbose == "auto" else verbose
        loading = dict(max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing)
        eval_data = self._evaluation_data(x, y, sample_weight, batch_size, steps, loading, "evaluate")
        callback_list = CallbackList(list(callbacks or []), self, {"steps": eval_data.steps, "verbose": verbose})
        logs, steps_done = self._evaluate_batches(eval_data, callback_list)
        if verbose and _distribution.is_chief():
            Progbar(steps_done, verbose=verbose).update(steps_done, logs, finalize=True)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, max_queue_size=None,
                workers=None, use_multiprocessing=False, **kwargs):
        """The model's outputs on `x`, batch by batch, as NumPy array(s)."""
        if kwargs:
            raise TypeError(f"predict: unexpected keyword argument(s) {sorted(kwargs)}.")
        _check_count("batch_size", batch_size, 1, "predict")
        _check_count("steps", steps, 1, "predict")
        B = _backend.get()
        self._check_inputs(x, where="predict")
        if not callbacks and isinstance(x, np.ndarray) and 0 < len(x) <= (batch_size or 32) \
                and _distribution.active_runtime() is None:
            # One batch: skip the batching machinery, which would cost more than a small model's forward pass.
            host = self._host_hook()
            batch = (B.prepare_batch(input_dtypes.cast_structure(_data.to_numpy_input(x), input_dtypes.input_spec(
                self))) if host is None else _data.map_structure(B.prepare_batch, host(x)), None, None)
            return _data.map_structure(B.to_numpy, self._prepare(batch, "predict")(batch))
        predict_data = _data.adapt(x, None, None, batch_size=batch_size, shuffle=False, steps=steps,
                                   preprocess=self._host_hook(), x_dtypes=input_dtypes.input_spec(self),
                                   max_queue_size=max_queue_size, workers=workers,
                                   use_multiprocessing=use_multiprocessing)
        predict_data.keep_order = True
        self._check_inputs(x, predict_data, "predict")
        callback_list = CallbackList(list(callbacks or []), self, {"steps": predict_data.steps})
        callback_list.on_predict_begin()
        predict = None
        outputs = []
        with contextlib.closing(predict_data.batches()) as predict_batches:
            for first, batches in _executions(predict_batches, 0, self.steps_per_execution):
                if predict is None:
                    predict = self._prepare(batches[0], "predict")
                callback_list.on_predict_batch_begin(first)
                executed = [_data.map_structure(B.to_numpy, o) for o in predict.many(batches)]
                outputs.extend(executed)
                callback_list.on_predict_batch_end(first + len(batches) - 1, {"outputs": executed[-1]})
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("predict: the data yielded no batch.")
        if len(outputs) == 1:
            return outputs[0]
        return _concatenate_structures(outputs)

    # ------------------------------------------------------------------ Keras 2 generator methods
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Keras 2 spelling of `fit(generator, ...)` (deprecated)."""
        _warn_deprecated("fit_generator", "fit")
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight, shuffle=shuffle,
                        initial_epoch=initial_epoch, max_queue_size=max_queue_size, workers=workers,
                        use_multiprocessing=use_multiprocessing)

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """Keras 2 spelling of `evaluate(generator, ...)` (deprecated)."""
        _warn_deprecated("evaluate_generator", "evaluate")
        return self.evaluate(generator, steps=steps, callbacks=callbacks, verbose=verbose,
                             max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """Keras 2 spelling of `predict(generator, ...)` (deprecated)."""
        _warn_deprecated("predict_generator", "predict")
        return self.predict(generator, steps=steps, callbacks=callbacks, verbose=verbose,
                            max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing)

    # ------------------------------------------------------------------ Keras 2 Sequential predictions
    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2 (deprecated): `predict`, with a warning when the outputs are not probabilities."""
        import warnings
        warnings.warn("Model.predict_proba is deprecated (removed in Keras 2.6); use Model.predict.",
                      DeprecationWarning, stacklevel=2)
        predictions = self.predict(x, batch_size=batch_size, verbose=verbose)
        if np.min(predictions) < 0.0 or np.max(predictions) > 1.0:
            warnings.warn("Network returning invalid probability values. The last layer might not normalize "
                          "predictions into probabilities (like softmax or sigmoid would).", stacklevel=2)
        return predictions

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2 (deprecated): class indices, the argmax of the last axis, or `output > 0.5` as int32 for a
        single sigmoid unit."""
        import warnings
        warnings.warn("Model.predict_classes is deprecated (removed in Keras 2.6); use "
                      "np.argmax(model.predict(x), axis=-1) or (model.predict(x) > 0.5).astype('int32').",
                      DeprecationWarning, stacklevel=2)
        predictions = self.predict(x, batch_size=batch_size, verbose=verbose)
        if isinstance(predictions, (list, dict)):
            raise ValueError(f"predict_classes: model '{self.name}' has several outputs; it works on a "
                             f"single-output model.")
        if predictions.shape[-1] > 1:
            return predictions.argmax(axis=-1)
        return (predictions > 0.5).astype("int32")

    # ------------------------------------------------------------------ single batches
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One training step on one batch; returns the loss (and metrics) as after `evaluate`."""
        self._assert_compiled("train_on_batch")
        return self._on_batch("train", x, y, sample_weight, reset_metrics, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        """The loss (and metrics) on one batch, without updating the weights."""
        self._assert_compiled("test_on_batch")
        return self._on_batch("test", x, y, sample_weight, reset_metrics, return_dict)

    def predict_on_batch(self, x):
        """The model's outputs on one batch, as NumPy array(s)."""
        return self._on_batch("predict", x, None, None, False, False)

    def _on_batch(self, kind, x, y, sample_weight, reset_metrics, return_dict):
        """train_on_batch / test_on_batch / predict_on_batch: one step of `kind` on the whole of `x`."""
        where = f"{kind}_on_batch"
        self._check_inputs(x, where=where)
        dtypes = self._data_dtypes() if kind != "predict" else {"x_dtypes": input_dtypes.input_spec(self)}
        data = _data.adapt(x, y, sample_weight, batch_size=len(_data.flatten(x)[0]), preprocess=self._host_hook(),
                           **dtypes)
        self._check_inputs(x, data, where)
        batch = next(data.batches())
        if kind == "predict":
            return _data.map_structure(_backend.get().to_numpy, self._prepare(batch, kind)(batch))
        if reset_metrics:
            self.reset_metrics()
        self._prepare(batch, kind)(batch)
        logs = self._logs()
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values


def _shared_seed():
    """A new random seed, the same on every process of a distributed job (process 0's)."""
    runtime = _distribution.active_runtime()
    return new_seed() if runtime is None else runtime.shared_seed(new_seed())


def _executions(batches, first_step, steps_per_execution):
    """(index of the first batch, [up to `steps_per_execution` batches]) for each compiled call."""
    group, start = [], first_step
    for batch in batches:
        group.append(batch)
        if len(group) == steps_per_execution:
            yield start, group
            start, group = start + len(group), []
    if group:
        yield start, group


def _check_count(name, value, minimum, caller="fit"):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum):
        raise ValueError(f"{caller}: `{name}` must be an integer >= {minimum}{' or None' if name != 'epochs' else ''}, "
                         f"got {value!r}.")


def _check_fit_arguments(batch_size, epochs, steps_per_epoch, validation_split, validation_steps,
                         validation_batch_size, initial_epoch):
    """A clear ValueError for each out-of-range argument of `fit` (Keras would silently misbehave on some)."""
    for name, value in (("batch_size", batch_size), ("steps_per_epoch", steps_per_epoch),
                        ("validation_steps", validation_steps), ("validation_batch_size", validation_batch_size)):
        _check_count(name, value, 1)
    if epochs is None:
        raise ValueError("fit: `epochs` must be an integer >= 0, got None.")
    _check_count("epochs", epochs, 0)
    _check_count("initial_epoch", initial_epoch, 0)
    if initial_epoch > epochs:
        raise ValueError(f"fit: `initial_epoch` ({initial_epoch}) is after the last epoch (`epochs`={epochs}); "
                         f"`epochs` counts from the first epoch, not from `initial_epoch`.")
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.floating)) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"fit: `validation_split` must be a number in [0, 1), got {validation_split!r}.")


def _check_validation_freq(validation_freq):
    if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(f"fit: `validation_freq` must be >= 1 (validate every that many epochs), got "
                             f"{validation_freq}.")
    elif not (isinstance(validation_freq, (list, tuple, set, range)) and all(
            isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in validation_freq)):
        raise ValueError(f"fit: `validation_freq` must be an int or a list of epochs (1-based), got "
                         f"{validation_freq!r}.")


def _validates_after(epoch, validation_freq):
    """Whether validation runs after `epoch` (0-based), as Keras reads `validation_freq`."""
    if isinstance(validation_freq, (int, np.integer)):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def _with_host_inputs_ready(step):
    def run(values, data, key):
        with host_inputs_ready():
            return step(values, data, key)
    return run


def _warn_deprecated(old, new):
    import warnings
    warnings.warn(f"Model.{old} is deprecated and will be removed; use Model.{new}, which accepts generators.",
                  DeprecationWarning, stacklevel=3)


def _concatenate_structures(batches):
    first = batches[0]
    if isinstance(first, dict):
        return {k: np.concatenate([b[k] for b in batches]) for k in first}
    if isinstance(first, (list, tuple)):
        return [np.concatenate([b[i] for b in batches]) for i in range(len(first))]
    return np.concatenate(batches)
