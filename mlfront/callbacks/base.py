"""`Callback`, the hooks Keras calls during fit / evaluate / predict, and `CallbackList`, which fans them out."""


class Callback:
    """Base class of callbacks. Override any hook; `self.model` and `self.params` are set by the model.

    Hooks: on_train_begin/end, on_epoch_begin/end, on_{train,test,predict}_begin/end and
    on_{train,test,predict}_batch_begin/end, each taking `logs` (a dict of metric values, or None).
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    # Keras 2 names
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


_HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList:
    """Calls each hook on every callback in order. Hooks nobody overrides cost nothing per batch."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)
        for hook in _HOOKS:
            overriding = [getattr(c, hook) for c in self.callbacks
                          if getattr(type(c), hook, None) is not getattr(Callback, hook)]
            if hook == "on_train_batch_begin":
                overriding += [c.on_batch_begin for c in self.callbacks
                               if type(c).on_batch_begin is not Callback.on_batch_begin]
            if hook == "on_train_batch_end":
                overriding += [c.on_batch_end for c in self.callbacks
                               if type(c).on_batch_end is not Callback.on_batch_end]
            setattr(self, hook, _fan_out(overriding) if overriding else _nothing)

    def __iter__(self):
        return iter(self.callbacks)


def _nothing(*args, **kwargs):
    pass


def _fan_out(methods):
    def call_all(*args, **kwargs):
        for method in methods:
            method(*args, **kwargs)
    return call_all
