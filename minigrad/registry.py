"""Name lookup and (de)serialization shared by the small registries.

Initializers, regularizers, constraints, activations and optimizers each keep one
:class:`Registry` that maps string names to the object they stand for (a class, or a
function). Each module's ``get`` decides what to do with what it finds — instantiate a
class, return a function — while the registry does the bookkeeping and the error::

    REGISTRY = Registry("initializer")

    @REGISTRY.register("glorot_uniform", "GlorotUniform")
    class GlorotUniform(VarianceScaling): ...

    REGISTRY.lookup("glorot_uniform")   # -> GlorotUniform
    REGISTRY.lookup("glorot")           # ValueError: Could not interpret initializer
                                        #   identifier: glorot. Valid names: ...
    REGISTRY.name_of(GlorotUniform)     # -> "glorot_uniform" (the first name registered)

Serialized objects are dicts shaped like Keras's
``{"module", "class_name", "config", "registered_name"}`` so configs read the same.

The base classes of those modules share :class:`Configurable` (``get_config``,
``from_config``, ``__repr__``), and each module's ``serialize``/``deserialize`` are its
registry's :meth:`Registry.serialize`/:meth:`Registry.deserialize`.
"""


class Configurable:
    """``get_config``/``from_config``/``__repr__`` for objects rebuilt from their arguments.

    A subclass returns its constructor arguments from ``get_config``; ``from_config``
    calls the constructor with them, and ``repr`` shows them: ``L2(l2=0.01)``.

    Takes no arguments (subclasses take their own).
    """

    def get_config(self):
        """The constructor arguments that rebuild this object, as a dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """A new object built from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Registry:
    """Names -> objects for one kind of thing (``kind`` is used in error messages).

    Args:
        kind (str): what the registry holds (``"initializer"``), for error messages.

    Example:
        >>> registry = Registry("shape")
        >>> square = registry.register("square", "Square")(lambda x: x * x)
        >>> registry.lookup("Square")(3), registry.name_of(square)
        (9, 'square')
    """

    def __init__(self, kind):
        self.kind = kind
        self._by_name = {}
        self._canonical = {}      # object -> its first registered name

    def register(self, *names):
        """Decorator: register a class or function under ``names`` (default: its
        ``__name__``). The first name is the canonical one that :meth:`name_of` returns.

        Args:
            *names: the names to register under; none means the object's ``__name__``.

        Returns:
            callable: the decorator, which returns the object unchanged.

        Raises:
            ValueError: (when decorating) if a name already stands for another object.
        """
        def decorate(obj):
            for name in names or (obj.__name__,):
                self.add(name, obj)
            return obj
        return decorate

    def add(self, name, obj):
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} names must be strings, got {name!r}.")
        current = self._by_name.get(name)
        if current is not None and current is not obj:
            raise ValueError(f"The {self.kind} name {name!r} is already registered for "
                             f"{current!r}.")
        self._by_name[name] = obj
        self._canonical.setdefault(obj, name)

    def __contains__(self, name):
        return name in self._by_name

    def names(self):
        """Every registered name, sorted."""
        return sorted(self._by_name)

    def lookup(self, name):
        """The object registered as ``name``; ValueError listing valid names if none."""
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise self.not_understood(name) from None

    def name_of(self, obj):
        """The canonical name of ``obj`` (or of its class), or None if unregistered."""
        try:
            return self._canonical.get(obj)
        except TypeError:           # unhashable
            return None

    def resolve(self, identifier, base, wrap_callable=None):
        """What every module's ``get`` does with an identifier.

        None -> None; an instance of ``base`` passes through; a string is looked up and
        the class found is instantiated with its defaults; a config dict is
        deserialized; a subclass of ``base`` is instantiated; any other callable is
        returned (through ``wrap_callable`` if given). Anything else: ValueError.
        """
        if identifier is None:
            return None
        if isinstance(identifier, base):
            return identifier
        if isinstance(identifier, str):
            return self.lookup(identifier)()
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if isinstance(identifier, type):
            if issubclass(identifier, base):
                return identifier()
            raise self.not_understood(identifier)
        if callable(identifier):
            return identifier if wrap_callable is None else wrap_callable(identifier)
        raise self.not_understood(identifier)

    def not_understood(self, identifier):
        """The ValueError every ``get`` raises for an identifier it cannot use."""
        return ValueError(f"Could not interpret {self.kind} identifier: {identifier}. "
                          f"Valid names: {', '.join(self.names())}.")

    # -- serialization ---------------------------------------------------------------
    def serialize(self, obj):
        """``obj`` (an instance with ``get_config``) as a plain dict; None stays None.

        A plain callable (a user function used as a regularizer, say) has no config: it
        is returned as-is, which every ``get`` accepts back, so ``from_config`` still
        round-trips in the same session (it is not JSON, though).

        Args:
            obj (object or None): an instance with ``get_config`` (an initializer, a loss...), a
                plain callable, or None.

        Returns:
            dict, callable or None: ``{"module", "class_name", "config", "registered_name"}``.

        Example:
            >>> regularizers.serialize(regularizers.L2(0.5))["config"]
            {'l2': 0.5}
        """
        if obj is None or not hasattr(obj, "get_config"):
            return obj
        cls = type(obj)
        return {"module": cls.__module__, "class_name": cls.__name__,
                "config": obj.get_config(), "registered_name": self.name_of(cls)}

    def deserialize(self, config):
        """Rebuild an object from :meth:`serialize`'s dict.

        Args:
            config (dict): what :meth:`serialize` returned.

        Returns:
            object: a new instance of the class named in ``config``.

        Raises:
            ValueError: if ``config`` is not such a dict or names no registered class.

        Example:
            >>> regularizers.deserialize(regularizers.serialize(regularizers.L2(0.5)))
            L2(l2=0.5)
        """
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(f"Could not interpret {self.kind} identifier: {config!r}. "
                             "A serialized object is a dict with 'class_name' and 'config'.")
        cls = self.lookup(config["class_name"])
        params = config.get("config") or {}
        if hasattr(cls, "from_config"):
            return cls.from_config(params)
        return cls(**params)
