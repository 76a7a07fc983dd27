"""The one training core for every engine: compile / fit / evaluate / predict.

Each step is a pure function of (state values, batch, random key) -> (new state values, new key). The
state is every Variable the step touches: the model's weights, the optimizer's and the metrics'. The step
binds the values to the Variables, runs ordinary (stateful-looking) layer, loss, optimizer and metric code,
and returns the values the Variables hold at the end. The backend's `compile` turns that into jax.jit,
tf.function or plain eager torch, traced once; the loop outside only moves references.
"""

import contextlib
import threading

import numpy as np

from mlfront import backend as _backend
from mlfront import optimizers as _optimizers
from mlfront.backend.context import call_context
from mlfront.callbacks import CallbackList, History, Progbar, ProgbarLogger
from mlfront.metrics import Mean, Metric
from mlfront.random import KeyStream, new_seed
from mlfront.training import data as _data
from mlfront.training import input_dtypes
from mlfront.training.compile_utils import CompiledLoss, CompiledMetrics
from mlfront.variables import bind, values_of


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


class LazyLogs(dict):
    """Batch logs whose values are read from the device only when someone looks at them."""

    def __init__(self, compute):
        super().__init__()
        self._compute = compute
        self._ready = False

    def _fill(self):
        if not self._ready:
            self._ready = True
            super().update(self._compute())

    def __getitem__(self, key):
        self._fill()
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._fill()
        return super().get(key, default)

    def __iter__(self):
        self._fill()
        return super().__iter__()

    def __len__(self):
        self._fill()
        return super().__len__()

    def __contains__(self, key):
        self._fill()
        return super().__contains__(key)

    def items(self):
        self._fill()
        return super().items()

    def keys(self):
        self._fill()
        return super().keys()

    def values(self):
        self._fill()
        return super().values()


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
            loss: name, Loss, or function `fn(y_true, y_pred)`; a list or dict for several outputs.
            metrics: list of names ("accuracy", "mae"), Metrics or functions; per output as list or dict.
            loss_weights: per-output weights of the total loss.
            run_eagerly: run steps without compiling them (for debugging).
            jit_compile: "auto" (the engine's default: jax.jit, tf.function, eager torch), True, False,
                "xla" (tf.function with XLA) or "torch.compile".
        """
        if kwargs:
            raise TypeError(f"compile: unexpected keyword argument(s) {sorted(kwargs)}.")
        self.optimizer = _optimizers.get(optimizer)
        self._compile_args = dict(loss=loss, metrics=metrics, loss_weights=loss_weights)
        self.compiled_loss = CompiledLoss(loss, loss_weights, self.output_names) if loss is not None else None
        self.compiled_metrics = CompiledMetrics(metrics, self.compiled_loss) if self.compiled_loss else None
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
        compiled = [m for _, m in self.compiled_metrics.metrics] if self.compiled_metrics else []
        listed = [self.loss_tracker] + self._output_loss_trackers + compiled
        # Metrics a subclass holds as attributes (updated by its own train_step) are tracked too, as in Keras.
        return listed + [m for m in vars(self).values() if isinstance(m, Metric) and all(m is not n for n in listed)]

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    # ------------------------------------------------------------------ the pure step functions
    def compute_loss(self, x, y, y_pred, sample_weight=None):
        """The training loss of one batch: the compiled loss plus the weight regularization penalties."""
        if self.compiled_loss is None:
            raise ValueError(f"Model '{self.name}' was compiled without a loss; pass `loss=` to compile().")
        total, _ = self.compiled_loss(y, y_pred, sample_weight)
        regularized = self._step_regularized if self._step_regularized is not None else self.regularized_variables()
        for variable, regularizer in regularized:
            total = total + regularizer(variable.value)
        return total

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

        def loss_fn(values):
            bind(trainable, values)
            y_pred = self(x, training=True)
            return self.compute_loss(x, y, y_pred, sample_weight), (y_pred, values_of(non_trainable))

        (loss, (y_pred, new_non_trainable)), grads = B.value_and_grad(loss_fn, has_aux=True)(start_values)
        bind(trainable, start_values)
        bind(non_trainable, new_non_trainable)
        self.optimizer.apply(grads, trainable)
        return self._update_metrics(loss, x, y, y_pred, sample_weight)

    def test_step(self, data):
        """One evaluation step on `data = (x, y, sample_weight)`: the loss and metrics, no update."""
        x, y, sample_weight = data
        y_pred = self(x, training=False)
        return self._update_metrics(self.compute_loss(x, y, y_pred, sample_weight), x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs on the inputs of one batch."""
        x = data[0] if isinstance(data, tuple) else data
        return self(x, training=False)

    def _update_metrics(self, loss, x, y, y_pred, sample_weight):
        B = _backend.get()
        # Weighted by the batch size, so the epoch loss is the mean over samples, as in Keras.
        self.loss_tracker.update_state(loss, sample_weight=float(B.shape(_data.flatten(x)[0])[0]))
        if self._output_loss_trackers:
            _, per_output = self.compiled_loss(y, y_pred, sample_weight)
            for tracker, value in zip(self._output_loss_trackers, per_output):
                tracker.update_state(value, sample_weight=float(B.shape(_data.flatten(x)[0])[0]))
        if self.compiled_metrics is not None:
            self.compiled_metrics.update_state(y, y_pred, sample_weight)

    def _state_variables(self, kind):
        model = self.trainable_variables + self.non_trainable_variables
        if kind == "predict":
            return model
        metrics = [v for m in self.metrics for v in m.variables]
        return model + metrics + (self.optimizer.variables if kind == "train" else [])

    def _make_step(self, kind):
        """A compiled pure function (state values, data, key) -> (new state values, key)."""
        B = _backend.get()
        state = self._state_variables(kind)
        self._step_variables = (self.trainable_variables, self.non_trainable_variables)
        self._step_regularized = self.regularized_variables()
        body = {"train": self.train_step, "test": self.test_step}.get(kind)
        training = kind == "train"

        def step(values, data, key):
            saved = values_of(state)
            bind(state, values)
            stream = KeyStream(key)
            try:
                with call_context(training, stream):
                    if body is None:
                        return self.predict_step(data), stream.key
                    body(data)
                return values_of(state), stream.key
            finally:
                if B.traces:
                    bind(state, saved)

        if self._has_host_layers:
            step = _with_host_inputs_ready(step)
        compiled = B.compile(step, jit=self.jit_compile if self.jit_compile != "auto" else True)

        def run(data):
            outputs, self._rng_key = compiled(values_of(state), data, self._rng_key)
            if kind == "predict":
                return outputs
            bind(state, outputs)
        return run

    def _prepare(self, first_batch, kind):
        """Build what the first batch needs: model weights, metrics, optimizer slots, the compiled step."""
        B = _backend.get()
        if self._rng_key is None:
            self._rng_key = B.rng_key(new_seed())
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
        if getattr(self, attr) is None:
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
            validation_freq=1, **kwargs):
        """Train for `epochs` epochs; returns a `History` whose `.history` holds the per-epoch logs."""
        if kwargs:
            raise TypeError(f"fit: unexpected keyword argument(s) {sorted(kwargs)}.")
        self._assert_compiled("fit")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = _data.split_validation(x, y, sample_weight, validation_split)
        self._check_inputs(x)
        train_data = _data.adapt(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                                 steps=steps_per_epoch, class_weight=class_weight, preprocess=self._host_hook(),
                                 **self._data_dtypes())
        verbose = 1 if verbose == "auto" else verbose
        self.history = History()
        callback_list = list(callbacks or []) + ([ProgbarLogger(verbose)] if verbose else []) + [self.history]
        callback_list = CallbackList(callback_list, self, {"epochs": epochs, "steps": train_data.steps,
                                                           "verbose": verbose})
        self.stop_training = False
        train = None
        logs = {}
        if getattr(train_data, "shuffle", False):
            train_data.shuffle_seed = new_seed()  # each epoch's order comes from (seed, epoch): restorable
        self._fit_position = (initial_epoch, 0)
        callback_list.on_train_begin()
        resume, self._resume = self._resume, None  # set by restore_training_state(resume=True)
        first_step = 0
        if resume is not None:
            initial_epoch, first_step = resume["epoch"], resume["step"]
            if resume["shuffle_seed"] is not None:
                train_data.shuffle_seed = resume["shuffle_seed"]
        self._fit_shuffle_seed = train_data.shuffle_seed
        for epoch in range(initial_epoch, epochs):
            skip = first_step if epoch == initial_epoch else 0
            self._fit_position = (epoch, skip)
            self.reset_metrics()
            train_data.epoch = epoch
            callback_list.on_epoch_begin(epoch)
            for step, batch in enumerate(train_data.batches(skip), start=skip):
                if train is None:
                    train = self._prepare(batch, "train")
                callback_list.on_train_batch_begin(step)
                train(batch)
                self._fit_position = (epoch, step + 1)
                callback_list.on_train_batch_end(step, LazyLogs(self._logs))
                if self.stop_training:
                    break
            train_data.on_epoch_end()
            logs = self._logs()
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                val_x, val_y, val_sw = _data.unpack_validation_data(validation_data)
                _, _ = self._run_evaluation(val_x, val_y, val_sw, validation_batch_size or batch_size,
                                     validation_steps, callbacks=None)
                logs.update(self._logs(prefix="val_"))
            self._fit_position = (epoch + 1, 0)
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callback_list.on_train_end(logs)
        return self.history

    def _run_evaluation(self, x, y, sample_weight, batch_size, steps, callbacks, verbose=0):
        self._check_inputs(x)
        eval_data = _data.adapt(x, y, sample_weight, batch_size=batch_size, shuffle=False, steps=steps,
                                preprocess=self._host_hook(), **self._data_dtypes())
        callback_list = CallbackList(list(callbacks or []), self, {"steps": eval_data.steps, "verbose": verbose})
        self.reset_metrics()
        callback_list.on_test_begin()
        test = None
        step = -1
        for step, batch in enumerate(eval_data.batches()):
            if test is None:
                test = self._prepare(batch, "test")
            callback_list.on_test_batch_begin(step)
            test(batch)
            callback_list.on_test_batch_end(step, LazyLogs(self._logs))
        eval_data.on_epoch_end()
        if test is None:
            raise ValueError("evaluate: the data yielded no batch.")
        logs = self._logs()
        callback_list.on_test_end(logs)
        return logs, step + 1

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """The loss and metrics on the data: a scalar (loss only), a list `[loss, *metrics]`, or a dict."""
        if kwargs:
            raise TypeError(f"evaluate: unexpected keyword argument(s) {sorted(kwargs)}.")
        self._assert_compiled("evaluate")
        verbose = 1 if verbose == "auto" else verbose
        logs, steps_done = self._run_evaluation(x, y, sample_weight, batch_size, steps, callbacks, verbose)
        if verbose:
            Progbar(steps_done, verbose=verbose).update(steps_done, logs, finalize=True)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """The model's outputs on `x`, batch by batch, as NumPy array(s)."""
        if kwargs:
            raise TypeError(f"predict: unexpected keyword argument(s) {sorted(kwargs)}.")
        B = _backend.get()
        self._check_inputs(x)
        if not callbacks and isinstance(x, np.ndarray) and 0 < len(x) <= (batch_size or 32):
            # One batch: skip the batching machinery, which would cost more than a small model's forward pass.
            host = self._host_hook()
            batch = (B.prepare_batch(input_dtypes.cast_structure(_data.to_numpy_input(x), input_dtypes.input_spec(
                self))) if host is None else _data.map_structure(B.prepare_batch, host(x)), None, None)
            return _data.map_structure(B.to_numpy, self._prepare(batch, "predict")(batch))
        predict_data = _data.adapt(x, None, None, batch_size=batch_size, shuffle=False, steps=steps,
                                   preprocess=self._host_hook(), x_dtypes=input_dtypes.input_spec(self))
        callback_list = CallbackList(list(callbacks or []), self, {"steps": predict_data.steps})
        callback_list.on_predict_begin()
        predict = None
        outputs = []
        for step, batch in enumerate(predict_data.batches()):
            if predict is None:
                predict = self._prepare(batch, "predict")
            callback_list.on_predict_batch_begin(step)
            batch_outputs = _data.map_structure(B.to_numpy, predict(batch))
            outputs.append(batch_outputs)
            callback_list.on_predict_batch_end(step, {"outputs": batch_outputs})
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
                        initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """Keras 2 spelling of `evaluate(generator, ...)` (deprecated)."""
        _warn_deprecated("evaluate_generator", "evaluate")
        return self.evaluate(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """Keras 2 spelling of `predict(generator, ...)` (deprecated)."""
        _warn_deprecated("predict_generator", "predict")
        return self.predict(generator, steps=steps, callbacks=callbacks, verbose=verbose)

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
        B = _backend.get()
        batch = next(_data.adapt(x, batch_size=len(_data.flatten(x)[0]), preprocess=self._host_hook(),
                                 x_dtypes=input_dtypes.input_spec(self)).batches())
        return _data.map_structure(B.to_numpy, self._prepare(batch, "predict")(batch))

    def _on_batch(self, kind, x, y, sample_weight, reset_metrics, return_dict):
        self._check_inputs(x)
        batch = next(_data.adapt(x, y, sample_weight, batch_size=len(_data.flatten(x)[0]),
                                 preprocess=self._host_hook(), **self._data_dtypes()).batches())
        if reset_metrics:
            self.reset_metrics()
        self._prepare(batch, kind)(batch)
        logs = self._logs()
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values


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
