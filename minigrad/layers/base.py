"""``Layer``: the base every layer shares.

A layer owns weights (Variables), creates them on its first call from the input's
shape (``build``), and applies ``call`` on every call. The base class does the
bookkeeping Keras users expect:

* a unique default ``name`` (``separable_conv1d``, ``separable_conv1d_1``, ...),
* ``add_weight`` with initializer, regularizer, constraint and trainability,
* ``weights`` / ``trainable_weights`` / ``non_trainable_weights`` and ``trainable``,
* ``losses``: the activity penalty of the last call (divided by the batch size) and one
  penalty per regularized trainable weight, as differentiable scalar Tensors,
* ``get_weights`` / ``set_weights`` (validated in full before anything changes),
* ``get_config`` / ``from_config``, ``count_params``, ``compute_output_shape``,
* the Keras 2 keywords ``input_shape``, ``batch_input_shape``, ``batch_size``, ``weights``.

The weights part (``add_weight``, the ``weights`` lists, ``trainable``, ``count_params``,
``get_weights`` / ``set_weights``) is :class:`~minigrad.layers.layer_weights.LayerWeights`
in ``layers/layer_weights.py``, which ``Layer`` inherits.
"""
import functools
import inspect
import re
import threading

import numpy as np

from ..tape import layer_scope
from ..naming import clear_session, unique_name  # noqa: F401 (re-exported)
from ..tensor import Tensor
from .input_spec import InputSpec, _batch_input_shape, _normalize_dtype  # noqa: F401 (re-exported)
from .layer_weights import LayerWeights
from .symbolic import is_symbolic, symbolic_call


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer(LayerWeights):
    """Base class of all layers.

    Subclasses implement ``build(input_shape)`` (create weights with ``add_weight``),
    ``call(inputs)`` (the computation on Tensors) and ``compute_output_shape``; they add
    their own arguments to ``get_config``.

    Every layer accepts these keyword arguments.

    Args:
        trainable (bool, default True): False freezes every weight (no updates, no
            weight penalties).
        name (str or None, default None): None gives ``snake_case(ClassName)`` made unique.
        dtype (str or None, default None): ``"float32"`` or ``"float64"``; None means
            ``mg.config.floatx()``.
        input_shape (tuple or None, default None): shape without the batch axis; a
            Sequential starting with this layer builds at once.
        batch_input_shape (tuple or None, default None): shape with the batch axis (None
            for any batch size).
        batch_size (int or None, default None): fixes the batch size together with
            ``input_shape``.
        weights (list of arrays or None, default None): initial weights, set right after
            the first build.
        activity_regularizer (Regularizer or None, default None): penalty on the layer's
            output, added to ``losses``.
        input_dim (int or None, default None): ``input_dim=n`` means ``input_shape=(n,)``.
        **kwargs: anything else raises ValueError, naming it.
    """

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None,
                 batch_input_shape=None, batch_size=None, weights=None,
                 activity_regularizer=None, input_dim=None, **kwargs):
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to "
                             f"{type(self).__name__}: {kwargs}")
        if not isinstance(trainable, (bool, np.bool_)):
            raise ValueError(f"Expected `trainable` to be a boolean. Received: "
                             f"trainable={trainable!r} (of type {type(trainable)})")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"Layer `name` must be a non-empty string, got {name!r}.")
        from .. import regularizers
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = _normalize_dtype(dtype)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self.input_spec = None
        self._weights = []
        self._requested_trainable = {}
        self._activity_losses = []
        self._build_shape = None
        self._batch_input_shape = _batch_input_shape(input_shape, batch_input_shape,
                                                     batch_size, input_dim)
        self._initial_weights = None if weights is None else [np.asarray(w) for w in weights]
        self._inbound_nodes = []           # one Node per call on symbolic tensors

    # -- tracking layers assigned as attributes ----------------------------------
    def __setattr__(self, name, value):
        """Remember attributes holding layers (also in lists, tuples and dicts), so a
        subclass's ``weights``, ``losses``, ``trainable`` ... include its sublayers."""
        tracked = self.__dict__.get("_tracked_attributes")
        if tracked is None:
            tracked = []
            object.__setattr__(self, "_tracked_attributes", tracked)
        if _holds_layers(value) or (type(value) in (list, dict) and not value
                                    and not name.startswith("_")):
            if name not in tracked:
                tracked.append(name)
        elif name in tracked:
            tracked.remove(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        tracked = self.__dict__.get("_tracked_attributes")
        if tracked and name in tracked:
            tracked.remove(name)
        object.__delattr__(self, name)

    def __init_subclass__(cls, **kwargs):
        """Make a subclass's own ``build`` mark the layer built, as Keras does.

        Calling ``layer.build(shape)`` by hand then counts: the first call of the layer
        does not build a second set of weights, even if ``build`` forgot ``self.built = True``.
        """
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is None or getattr(build, "_marks_built", False):
            return

        @functools.wraps(build)
        def build_and_mark(self, input_shape):
            build(self, input_shape)
            self.built = True
            if self._build_shape is None:
                self._build_shape = tuple(input_shape)
        build_and_mark._marks_built = True
        cls.build = build_and_mark

    # -- weights: add_weight, weights, trainable, get/set_weights in layer_weights.py --
    def _sublayers(self):
        """The layers this layer holds as attributes, in assignment order (each once)."""
        names = self.__dict__.get("_tracked_attributes")
        if not names:                           # most layers hold none
            return ()
        result, seen = [], {id(self)}
        for name in names:
            for layer in _layers_in(self.__dict__.get(name)):
                if id(layer) not in seen:
                    seen.add(id(layer))
                    result.append(layer)
        return result

    def _layer_tree(self):
        """This layer and every layer under it, depth first in assignment order, each
        once: the order of ``weights`` and ``losses``. A loop, not a recursion through
        each sublayer's properties: a model's training step asks for both."""
        order, seen, stack = [], set(), [self]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            order.append(layer)
            stack.extend(reversed(layer._sublayers()))
        return order

    # -- losses ------------------------------------------------------------------
    @property
    def losses(self):
        """Activity penalties of the last call, then one penalty per regularized trainable
        weight (recomputed on every access, so they are recorded by an active tape)."""
        tree = self._layer_tree()               # walked once for both parts
        result = [loss for layer in tree for loss in layer._activity_losses]
        for w in self._trainable_weights_of(tree):
            if w.regularizer is not None:
                result.append(w.regularizer(w))
        return result

    # -- calling -----------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch axis included).

        Args:
            input_shape (tuple or list of tuples): the input's shape with the batch axis (None
                where unknown); a list for layers called on several inputs.
        """
        self.built = True

    def call(self, inputs, **kwargs):
        """The computation on Tensors; subclasses override it (the base returns its input).

        Args:
            inputs (Tensor or list of Tensor): the input (already converted and checked).
            **kwargs: ``training=``, ``mask=``... when the subclass's ``call`` declares them.

        Returns:
            Tensor
        """
        return inputs

    def compute_output_shape(self, input_shape):
        """The output shape for an input of ``input_shape`` (the base: the same shape).

        Args:
            input_shape (tuple): with the batch axis (None where unknown).

        Returns:
            tuple
        """
        return tuple(input_shape)

    def _convert_input(self, inputs):
        if isinstance(inputs, Tensor):
            if inputs.dtype != self.dtype and inputs.dtype.kind in "biuf":
                from .. import ops
                return ops.cast(inputs, self.dtype)
            return inputs
        array = np.asarray(inputs)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Layer '{self.name}' expects numeric input, got an array of dtype "
                            f"{array.dtype}.")
        return Tensor(array.astype(self.dtype, copy=False))

    # A layer takes one tensor unless its class sets this to True (merge layers, models);
    # None means: True for layers defined outside minigrad (their call may take a list).
    _accepts_list = None

    def _check_structure(self, inputs):
        if not isinstance(inputs, (list, tuple, dict)):
            return False
        accepts = self._accepts_list
        if accepts is None:
            accepts = not type(self).__module__.startswith("minigrad.")
        if not accepts:
            raise TypeError(f"Layer '{self.name}' ({type(self).__name__}) takes a single "
                            f"input tensor, but was called on a {type(inputs).__name__} of "
                            f"{len(inputs)} inputs. Merge them first (e.g. "
                            "layers.Concatenate()) or call the layer on each.")
        return True

    def __call__(self, inputs, training=None, **kwargs):
        if training is not None and not isinstance(training, (bool, np.bool_)):
            raise ValueError(f"Layer '{self.name}': `training` must be True, False or None "
                             f"(inherit). Received: training={training!r}")
        structured = False
        if type(inputs) is not Tensor:           # (one Tensor, the usual call, needs neither)
            structured = self._check_structure(inputs)
            if is_symbolic(inputs):
                if training is not None:
                    kwargs["training"] = training
                return symbolic_call(self, inputs, kwargs)
        if training is None:
            stack = _training.stack
            if stack:
                training = stack[-1]             # Keras hands `training` down to sublayers
        if structured:
            return self._call_structure(inputs, training, kwargs)
        x = inputs if type(inputs) is Tensor and inputs.data.dtype is self.dtype \
            else self._convert_input(inputs)
        shape = x.shape
        if self._batch_input_shape is not None:
            expected = self._batch_input_shape
            if expected[0] is not None and shape and shape[0] != expected[0]:
                raise ValueError(f"Layer '{self.name}' was given batch_size={expected[0]} "
                                 f"(batch_input_shape={expected}), but received a batch of "
                                 f"{shape[0]} (input shape {shape}).")
        if not self.built:
            self._build_with(shape)
        elif self.input_spec is not None:
            self.input_spec.check(self.name, shape)
        return self._run_call(x, training, kwargs)

    def _call_structure(self, inputs, training, kwargs):
        """Call on a list/tuple/dict of inputs (merge layers, multi-input models)."""
        if isinstance(inputs, dict):
            x = {key: self._convert_input(value) for key, value in inputs.items()}
            shapes = {key: t.shape for key, t in x.items()}
        else:
            x = type(inputs)(self._convert_input(value) for value in inputs)
            shapes = [t.shape for t in x]
        if not self.built:
            self._build_with(shapes)
        return self._run_call(x, training, kwargs)

    def _run_call(self, x, training, kwargs):
        stack = _training.stack
        stack.append(training)
        try:
            with layer_scope(self.name):
                if _accepts_training(type(self)):
                    kwargs["training"] = training
                outputs = self.call(x, **kwargs)
        finally:
            stack.pop()
        if self.activity_regularizer is not None:    # (a fresh list: this call's penalty)
            object.__setattr__(self, "_activity_losses", [self._activity_penalty(outputs)])
        elif self._activity_losses:
            object.__setattr__(self, "_activity_losses", [])
        if isinstance(outputs, Tensor):      # for the summary of a subclassed model
            object.__setattr__(self, "_last_output_shape", (None,) + outputs.shape[1:])
        return outputs

    def _build_with(self, shape):
        single = not isinstance(shape, (list, dict)) and _is_shape(shape)
        if self.input_spec is not None and single:
            self.input_spec.check(self.name, shape)
        spec, n_weights = self.input_spec, len(self._weights)
        shape = tuple(shape) if single else shape
        try:
            self.build(shape)
        except Exception:
            # a build that fails half way (e.g. its second weight is too large) keeps none
            del self._weights[n_weights:]
            self.input_spec, self.built = spec, False
            raise
        self.built = True
        self._build_shape = shape
        if self._initial_weights is not None:
            try:
                self.set_weights(self._initial_weights)
            except (ValueError, TypeError):
                # `weights=` does not fit: undo the build, so that the next call fails
                # the same way instead of running on freshly initialized weights.
                del self._weights[n_weights:]
                self.input_spec, self.built, self._build_shape = spec, False, None
                raise
            self._initial_weights = None

    def _activity_penalty(self, outputs):
        penalty = self.activity_regularizer(outputs)
        batch = outputs.shape[0] if outputs.ndim > 0 else 1
        if outputs.ndim == 0:
            return penalty
        return penalty / batch if batch else penalty * 0

    # -- configuration -----------------------------------------------------------
    def get_config(self):
        """The constructor arguments that rebuild this layer, as a dict (Keras's keys).

        Returns:
            dict: ``name``, ``trainable``, ``dtype`` and each subclass's own arguments.
        """
        from .. import regularizers
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        """A new layer of this class from :meth:`get_config`'s dict (``cls(**config)``).

        Args:
            config (dict): what :meth:`get_config` returned.

        Returns:
            Layer
        """
        return cls(**config)

    def get_build_config(self):
        """What :meth:`build_from_config` needs to build a copy: ``{"input_shape": ...}``.

        Returns:
            dict
        """
        return {"input_shape": self._build_shape}

    def build_from_config(self, config):
        """Build from :meth:`get_build_config`'s dict (when it holds a shape and the layer
        is not built yet).

        Args:
            config (dict): ``{"input_shape": shape or None}``.
        """
        if config.get("input_shape") is not None and not self.built:
            self._build_with(tuple(config["input_shape"]))

    @property
    def input_shape_hint(self):
        """The ``batch_input_shape`` given at construction, or None."""
        return self._batch_input_shape

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


_training_cache = {}
class _TrainingContext(threading.local):
    """The `training` value of the layers running in this thread (innermost last): a
    layer called inside another layer's call without `training=` gets its caller's."""

    def __init__(self):
        self.stack = []


_training = _TrainingContext()


def _is_shape(value):
    return isinstance(value, tuple) and all(
        s is None or isinstance(s, (int, np.integer)) for s in value)


def _holds_layers(value):
    if isinstance(value, Layer):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_layers(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_layers(v) for v in value.values())
    return False


def _layers_in(value):
    if isinstance(value, Layer):
        return [value]
    if isinstance(value, (list, tuple)):
        return [layer for v in value for layer in _layers_in(v)]
    if isinstance(value, dict):
        return [layer for v in value.values() for layer in _layers_in(v)]
    return []


def _accepts_training(cls):
    accepts = _training_cache.get(cls)
    if accepts is None:
        accepts = _training_cache[cls] = "training" in inspect.signature(cls.call).parameters
    return accepts
