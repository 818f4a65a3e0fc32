"""A layer's weights: ``add_weight``, the ``weights`` lists (its own, then its sublayers'),
``trainable``, ``count_params`` and ``get_weights`` / ``set_weights``.

:class:`LayerWeights` is the part of :class:`~minigrad.layers.Layer` (``layers/base.py``)
that owns Variables; ``Layer`` inherits it and supplies the rest (``_weights``,
``_requested_trainable`` and ``_trainable`` set in its ``__init__``, ``_sublayers``).
"""
import numpy as np

from ..tensor import Tensor, Variable
from .input_spec import _normalize_dtype

__all__ = ["LayerWeights"]


class LayerWeights:
    """The weights half of :class:`~minigrad.layers.Layer`, which every layer inherits.

    Takes no arguments (``Layer.__init__`` sets the state it uses).
    """

    def add_weight(self, name, shape, initializer="glorot_uniform", regularizer=None,
                   constraint=None, trainable=True, dtype=None):
        """Create a Variable owned by this layer (named ``<layer>/<name>``).

        Args:
            name (str): the weight's name within the layer (``"kernel"``).
            shape (tuple of int): its shape.
            initializer (str or Initializer, default "glorot_uniform"): its first value.
            regularizer (Regularizer or None, default None): its penalty, in ``losses``.
            constraint (Constraint or None, default None): applied after each optimizer
                step.
            trainable (bool, default True): updated by optimizers.
            dtype (str or None, default None): None means the layer's dtype.

        Returns:
            Variable
        """
        from .. import constraints, initializers, regularizers
        shape = tuple(int(s) for s in shape)
        dtype = self.dtype if dtype is None else _normalize_dtype(dtype)
        init = initializers.get(initializer)
        try:
            value = init(shape, dtype=dtype) if init is not None else np.zeros(shape, dtype)
        except (MemoryError, ValueError) as e:
            size = dtype.itemsize
            for n in shape:
                size *= n
            if size < 2**31 and not isinstance(e, MemoryError):
                raise
            raise ValueError(f"Layer '{self.name}': the weight '{name}' of shape {shape} "
                             f"({size} bytes) is too large to allocate ({type(e).__name__}: "
                             f"{e}). Check the layer's size arguments.") from None
        variable = Variable(np.asarray(value, dtype=dtype), name=name,
                            trainable=bool(trainable) and self._trainable,
                            constraint=constraints.get(constraint),
                            regularizer=regularizers.get(regularizer))
        variable.path = f"{self.name}/{name}"
        self._weights.append(variable)
        self._requested_trainable[id(variable)] = bool(trainable)
        return variable

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"Expected `trainable` to be a boolean. Received: "
                             f"trainable={value!r} (of type {type(value)})")
        self._trainable = bool(value)
        for w in self._weights:
            w.trainable = self._trainable and self._requested_trainable.get(id(w), True)
        for layer in self._sublayers():
            layer.trainable = value

    @property
    def weights(self):
        """All weights: the layer's own in creation order, then each sublayer's (Keras
        order); a weight shared by two sublayers is listed once."""
        return _weights_of(self._layer_tree())

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.trainable] if self._trainable else []

    def _trainable_weights_of(self, tree):
        """``trainable_weights``, from ``self._layer_tree()`` already walked by the caller
        (``losses``), unless a subclass lists its weights its own way."""
        cls = type(self)
        if cls.weights is not LayerWeights.weights or \
                cls.trainable_weights is not LayerWeights.trainable_weights:
            return self.trainable_weights
        return [w for w in _weights_of(tree) if w.trainable] if self._trainable else []

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def variables(self):
        return self.weights

    def count_params(self):
        """Number of scalars in all weights (the layer must be built)."""
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but "
                             "the layer isn't built. Call it on an input (or call "
                             "`build(input_shape)`) first.")
        return int(sum(w.size for w in self.weights))

    def get_weights(self):
        """Copies of the weight values, in ``weights`` order."""
        return [np.array(w.data, copy=True) for w in self.weights]

    def set_weights(self, weights):
        """Replace every weight value. Count and shapes are checked before any change.

        Args:
            weights (list of array-like): one per weight, in ``weights`` order.

        Raises:
            ValueError: for a wrong count or shape (naming the weight), before any change.
        """
        current = self.weights
        weights = list(weights)
        if len(weights) != len(current):
            raise ValueError(f"You called `set_weights(weights)` on layer '{self.name}' with a "
                             f"weight list of length {len(weights)}, but the layer was "
                             f"expecting {len(current)} weights.")
        arrays = []
        for w, value in zip(current, weights):
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.shape != w.shape:
                raise ValueError(f"Layer '{self.name}' weight shape {w.shape} is not compatible "
                                 f"with provided weight shape {value.shape} (weight "
                                 f"'{w.path}').")
            if value.dtype.kind not in "biuf":
                raise TypeError(f"set_weights: the value for weight '{w.path}' has dtype "
                                f"{value.dtype}; expected numbers.")
            arrays.append(value)
        for w, value in zip(current, arrays):
            w.assign(value)


def _weights_of(tree):
    """The weights of the layers of ``tree`` in order, each once (see ``weights``)."""
    result, seen = [], set()
    for layer in tree:
        for w in layer._weights:
            if id(w) not in seen:
                seen.add(id(w))
                result.append(w)
    return result
