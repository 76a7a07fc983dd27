"""The one serialization registry: objects to Keras's config dicts and back.

`serialize_keras_object` writes Keras 3's form, `{"module", "class_name", "config", "registered_name"}`;
`deserialize_keras_object` reads it, Keras 2's `{"class_name", "config"}` and plain names. Only mlfront's own
public classes and functions (a table built once from its public modules) or objects the user registered /
passed in `custom_objects` are ever instantiated: nothing is imported by a name read from a config.
"""

import inspect
import threading

# the kinds of objects, named as Keras's modules are ("keras.layers", ...)
_KINDS = ("layers", "models", "losses", "metrics", "optimizers", "schedules", "initializers", "regularizers",
          "constraints", "activations")
# the Keras module name written for each kind (Keras 3 writes "keras" for models)
_KERAS_MODULE = {"models": "keras", "schedules": "keras.optimizers.schedules"}
# the registries of plain functions (and snake_case aliases) each module keeps
_FUNCTION_TABLES = {"activations": "ALL", "losses": "FUNCTIONS", "metrics": "FUNCTIONS", "initializers": "ALL",
                    "regularizers": "ALL", "constraints": "ALL"}

_GLOBAL_CUSTOM_OBJECTS = {}  # "package>name" -> object
_GLOBAL_CUSTOM_NAMES = {}  # id(object) -> "package>name"
_local = threading.local()
_builtins = None


def register_keras_serializable(package="Custom", name=None):
    """A decorator registering a class or function under `"package>name"` for deserialization.

    Args:
        package: the package part of the registered name.
        name: the name part (the object's `__name__` when None).

    Returns:
        The decorator; it returns the object unchanged.

    Example:
        >>> @register_keras_serializable(package="my_project")
        ... class MyLayer(mlfront.layers.Layer): ...
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: `package` must be a string without '>', got {package!r}.")

    def decorator(obj):
        registered = f"{package}>{name if name is not None else obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: class {obj.__name__} has no get_config() method, so "
                             f"it cannot be serialized.")
        previous = _GLOBAL_CUSTOM_OBJECTS.get(registered)
        if previous is not None:  # re-registered (a re-run notebook cell): forget the old object's name
            _GLOBAL_CUSTOM_NAMES.pop(id(previous), None)
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[id(obj)] = registered
        return obj
    return decorator


def get_registered_name(obj):
    """The name `obj` was registered under ("package>name"), else its `__name__`."""
    return _GLOBAL_CUSTOM_NAMES.get(id(obj), getattr(obj, "__name__", type(obj).__name__))


class CustomObjectScope:
    """A context in which deserialization also finds the objects of the given dicts by name.

    Args:
        *custom_objects: dicts `{name: class or function}` (None is allowed and ignored).

    Example:
        >>> with custom_object_scope({"MyLayer": MyLayer}):
        ...     model = mlfront.models.Sequential.from_config(config)
    """

    def __init__(self, *custom_objects):
        self.custom_objects = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError(f"custom_object_scope: expected dicts {{name: object}}, got {objects!r}.")
            self.custom_objects.update(objects)

    def __enter__(self):
        self._saved = _scope_objects()
        _local.custom_objects = {**self._saved, **self.custom_objects}
        return self

    def __exit__(self, *exc):
        _local.custom_objects = self._saved


custom_object_scope = CustomObjectScope


def _scope_objects():
    return getattr(_local, "custom_objects", {})


def in_safe_mode():
    """Whether the deserialization in progress refuses Python code (True outside any deserialization)."""
    mode = getattr(_local, "safe_mode", None)
    return True if mode is None else mode


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object known by `name`: in the active custom-object scope, the global registry, `custom_objects`,
    then `module_objects`; None when none holds it."""
    for table in (_scope_objects(), _GLOBAL_CUSTOM_OBJECTS, custom_objects or {}, module_objects or {}):
        if name in table:
            return table[name]
    return None


# ---------------------------------------------------------------------- mlfront's own objects
def _modules():
    """kind -> (mlfront module, the base class its public classes derive from)."""
    from mlfront import activations, constraints, initializers, layers, losses, metrics, models, optimizers
    from mlfront import regularizers, schedules
    return {"layers": (layers, layers.Layer), "models": (models, layers.Layer), "losses": (losses, losses.Loss),
            "metrics": (metrics, metrics.Metric), "optimizers": (optimizers, optimizers.Optimizer),
            "schedules": (schedules, schedules.LearningRateSchedule),
            "initializers": (initializers, initializers.Initializer),
            "regularizers": (regularizers, regularizers.Regularizer),
            "constraints": (constraints, constraints.Constraint), "activations": (activations, None)}


def _builtin_tables():
    """kind -> {public name: class or function} of mlfront's public modules (built once)."""
    global _builtins
    if _builtins is None:
        tables = {}
        for kind, (module, base) in _modules().items():
            names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
            table = {}
            for n in names:
                value = getattr(module, n, None)
                if base is not None and inspect.isclass(value) and issubclass(value, base):
                    table[n] = value
            for n, value in getattr(module, _FUNCTION_TABLES.get(kind, ""), {}).items():
                table.setdefault(n, value)
            tables[kind] = table
        from mlfront.models.functional import Functional
        tables["models"]["Functional"] = Functional
        _builtins = tables
    return _builtins


def _kind_of_module(module):
    """The kind ("layers", ...) a Keras / mlfront module name stands for, else None."""
    parts = module.split(".")
    if parts[0] not in ("keras", "mlfront", "tf_keras"):
        return None
    if parts == ["keras"] or parts == ["mlfront"]:
        return "models"
    rest = parts[2:] if len(parts) > 1 and parts[1] == "src" else parts[1:]
    if rest and rest[0] == "engine":  # Keras 2's home of Sequential / Functional
        return "models"
    if "schedules" in rest or "learning_rate_schedule" in rest:
        return "schedules"
    return rest[0] if rest and rest[0] in _KINDS else None


def _builtin_kind(obj):
    for kind, table in _builtin_tables().items():
        if any(value is obj for value in table.values()):
            return kind
    return None


def _builtin_name(obj, kind):
    for n, value in _builtin_tables()[kind].items():
        if value is obj and (inspect.isclass(obj) or n == getattr(obj, "__name__", n)):
            return n
    return getattr(obj, "__name__", None)


# ---------------------------------------------------------------------- serialize
def serialize_keras_object(obj):
    """`obj` as config data: Keras 3's `{"module", "class_name", "config", "registered_name"}` dict for an
    object with `get_config` (its config as `get_config` returns it) or a function; plain values (numbers,
    strings, lists, dicts) as themselves, NumPy values as lists / numbers.

    Raises:
        ValueError: for a lambda (no Python code is ever written); TypeError: for an object without
            `get_config`.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if type(obj).__module__ == "numpy":  # NumPy scalars and arrays
        return obj.tolist()
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return _serialize_function(obj)
    if inspect.isclass(obj):
        raise TypeError(f"serialize_keras_object: cannot serialize the class {obj.__name__} itself; pass an "
                        f"instance.")
    if not hasattr(obj, "get_config"):
        raise TypeError(f"serialize_keras_object: {obj!r} has no get_config() method, so it cannot be serialized.")
    cls = type(obj)
    kind = _builtin_kind(cls)
    registered = _GLOBAL_CUSTOM_NAMES.get(id(cls))
    return {"module": _keras_module(kind) if kind and not registered else cls.__module__,
            "class_name": cls.__name__, "config": obj.get_config(),
            "registered_name": None if kind and not registered else registered or cls.__name__}


def _serialize_function(fn):
    registered = _GLOBAL_CUSTOM_NAMES.get(id(fn))
    kind = None if registered else _builtin_kind(fn)
    if kind:
        return {"module": _keras_module(kind), "class_name": "function", "config": _builtin_name(fn, kind),
                "registered_name": "function"}
    if registered is None and fn.__name__ == "<lambda>":
        raise ValueError("serialize_keras_object: a lambda cannot be serialized (mlfront does not write Python "
                         "bytecode); use a named function registered with register_keras_serializable.")
    return {"module": fn.__module__, "class_name": "function", "config": fn.__name__,
            "registered_name": registered or fn.__name__}


def function_config(fn):
    """A function in a config: mlfront's own or a registered one as its Keras dict (JSON-safe); any other
    callable as itself, which serves in-process `from_config` but not JSON (no Python code is ever written)."""
    if fn is None or not callable(fn) or inspect.isclass(fn):
        return fn
    if id(fn) in _GLOBAL_CUSTOM_NAMES or _builtin_kind(fn) is not None:
        return _serialize_function(fn)
    return fn


def deserialize_tree(value, deserialize):
    """`value` (compile arguments from a saved config) with each object config (a dict with "class_name")
    rebuilt by `deserialize`, lists and other dicts element-wise, and names and numbers kept for `compile`."""
    if isinstance(value, list):
        return [deserialize_tree(v, deserialize) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: deserialize_tree(v, deserialize) for k, v in value.items()}
    if isinstance(value, dict):
        return deserialize(value)
    return value


def function_from_config(value, custom_objects=None, module_objects=None):
    """The function `function_config` wrote: a dict is deserialized (a registered, custom or mlfront
    function only), a callable or None is kept."""
    if isinstance(value, (dict, str)):
        found = deserialize_keras_object(value, custom_objects, module_objects=module_objects)
        if not callable(found):
            raise ValueError(f"deserialize_keras_object: {value!r} does not describe a function.")
        return found
    return value


def _keras_module(kind):
    return _KERAS_MODULE.get(kind, f"keras.{kind}")


# ---------------------------------------------------------------------- deserialize
def deserialize_keras_object(config, custom_objects=None, safe_mode=True, module_objects=None):
    """The object a config describes: a Keras 3 dict, a Keras 2 `{"class_name", "config"}` dict, or a name.

    Args:
        config: the serialized object (None gives None).
        custom_objects: `{name: class or function}` of user objects the config may name.
        safe_mode: refuse Python code in the config (a `Lambda`'s bytecode); only an object registered or
            passed in `custom_objects` may stand for a function.
        module_objects: `{name: object}` to search first for plain names and Keras 2 dicts (e.g. a module's
            own table); when None, all of mlfront's public modules are searched.

    Returns:
        The object: an instance built with its class's `from_config`, or a class / function for a name.

    Raises:
        ValueError: the config names a module, class or function that is neither mlfront's nor registered /
            in `custom_objects`, or holds Python code.
    """
    if config is None:
        return None
    if isinstance(config, str):
        found = _find(config, None, custom_objects, module_objects)
        if found is None:
            raise ValueError(f"deserialize_keras_object: unknown object name {config!r}; custom objects must be "
                             f"registered with register_keras_serializable or passed in `custom_objects`.")
        return found
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize_keras_object: expected a name or a dict with 'class_name' and 'config', "
                         f"got {config!r}.")
    if getattr(_local, "safe_mode", None) is not None:  # inside a deserialization: its safe_mode holds
        safe_mode = _local.safe_mode
    class_name, inner = config["class_name"], config.get("config", {})
    module = config.get("module")
    if class_name == "__lambda__":
        raise ValueError(lambda_refusal(safe_mode))
    if class_name == "function":
        name = config.get("registered_name")
        name = inner if name in (None, "function") else name
        obj = _find(name, module, custom_objects, module_objects)
        if obj is None or inspect.isclass(obj):
            raise ValueError(_refusal("function", name, module))
        return obj
    obj = _find(config.get("registered_name") or class_name, module, custom_objects, module_objects)
    if obj is None and config.get("registered_name"):
        obj = _find(class_name, module, custom_objects, module_objects)
    if obj is None:
        raise ValueError(_refusal("class", class_name, module))
    if not inspect.isclass(obj):
        if inner:
            raise ValueError(f"deserialize_keras_object: {class_name!r} is a function, but the config gives it "
                             f"arguments {inner!r}.")
        return obj
    if not isinstance(inner, dict):
        raise ValueError(f"deserialize_keras_object: the 'config' of {class_name!r} must be a dict, got {inner!r}.")
    return _instantiate(obj, inner, custom_objects, safe_mode)


def _instantiate(cls, config, custom_objects, safe_mode):
    saved_mode = getattr(_local, "safe_mode", None)
    _local.safe_mode = bool(safe_mode)
    try:
        with CustomObjectScope(custom_objects):
            from_config = getattr(cls, "from_config", None)
            if from_config is None:
                return cls(**config)
            if "custom_objects" in inspect.signature(from_config).parameters:
                return from_config(dict(config), custom_objects=custom_objects)
            return from_config(dict(config))
    finally:
        _local.safe_mode = saved_mode


def _find(name, module, custom_objects, module_objects):
    """The user's object called `name`, else mlfront's own (in `module`'s kind when a module is named)."""
    found = get_registered_object(name, custom_objects)
    if found is not None:
        return found
    tables = _builtin_tables()
    if module is not None:
        kind = _kind_of_module(module)
        if kind is None:
            return None  # a foreign module: only the user's objects may be used
        return _lookup_name(tables[kind], name)
    if module_objects is not None:
        found = _lookup_name(module_objects, name)
        if found is not None:
            return found
        return None
    for kind in _KINDS:
        found = _lookup_name(tables[kind], name)
        if found is not None:
            return found
    return None


def _lookup_name(table, name):
    if not isinstance(name, str):
        return None
    if name in table:
        return table[name]
    from mlfront.utils.naming import canonical
    wanted = canonical(name)
    return next((value for key, value in table.items() if canonical(key) == wanted), None)


def _refusal(what, name, module):
    where = f" from module {module!r}" if module else ""
    return (f"deserialize_keras_object: refusing {what} {name!r}{where}: only mlfront's own classes and functions, "
            f"or objects registered with `register_keras_serializable` or passed in `custom_objects`, are loaded.")


def lambda_refusal(safe_mode):
    """The message refusing a function saved as Python code."""
    if safe_mode:
        return ("deserialize_keras_object: the config holds a Python function as code (a Lambda's bytecode), which "
                "safe_mode=True refuses. If you trust the file, pass safe_mode=False; mlfront itself can only load "
                "a Lambda whose function is registered with `register_keras_serializable` or given in "
                "`custom_objects`.")
    return ("deserialize_keras_object: the config holds a Python function as code (a Lambda's bytecode); mlfront "
            "does not load Python bytecode even with safe_mode=False. Register the function with "
            "`register_keras_serializable` (or pass it in `custom_objects`) and save the model again.")


def layer_objects():
    """mlfront's layer and model classes by name: what a model config's layers may name (besides the user's)."""
    tables = _builtin_tables()
    return {**tables["layers"], **tables["models"]}


def expect_instance(obj, base, what):
    """`obj` when it is an instance of `base`, else a clear error (e.g. a loss named where a layer belongs)."""
    if not isinstance(obj, base):
        raise ValueError(f"{what}: expected a {base.__name__}, but the config describes {obj!r} "
                         f"({type(obj).__name__ if not inspect.isclass(obj) else 'a class'}).")
    return obj
