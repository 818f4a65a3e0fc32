"""``Sequential``: a stack of layers, each feeding the next.

    model = mg.Sequential([
        layers.SeparableConv2D(16, 3, activation="relu", input_shape=(8, 8, 1)),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10),
    ])
    model.summary()                         # shapes, parameters, multiply-adds per layer
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3)               # see minigrad/training.py

A Sequential is a :class:`~minigrad.Model` whose graph is a chain: once the input shape
is known (from ``mg.Input``, a first layer's ``input_shape=``, ``build`` or the first
call) it calls its layers on a symbolic input, exactly as a functional model does, and
runs on the same :class:`~minigrad.models.functional.Graph`. Its weights are its
layers' weights (in order), its ``losses`` their penalties, and ``model(x,
training=True)`` hands ``training`` to the layers that use it.
"""
import numpy as np

from ..layers.base import Layer
from ..layers.symbolic import SymbolicTensor, output_specs
from .functional import Graph
from .model import Model

__all__ = ["Sequential"]


def _unbuilt(layers):
    """The layers not built yet, and the unbuilt layers nested inside any of them."""
    found = []
    for layer in layers:
        if not layer.built and layer not in found:
            found.append(layer)
        found.extend(sub for sub in _unbuilt(layer._sublayers()) if sub not in found)
    return found


def _input_layer_class():
    from ..layers.core import InputLayer
    return InputLayer


class Sequential(Model):
    """A linear stack of layers.

    layers: optional list of layers, added in order with :meth:`add`. A first
        ``mg.Input(shape)`` (or ``InputLayer``) or a first layer given ``input_shape=``
        fixes the input shape and builds the model at once; otherwise the model builds
        on its first call (or on ``build(input_shape)``).
    name: the model's name (default ``"sequential"``, ``"sequential_1"``, ...).

    Args:
        layers (list of Layer or None, default None): as above.
        name (str or None, default None): as above.
        trainable (bool, default True): False freezes every weight.

    Example:
        >>> model = mg.Sequential([mg.Input((4,)), layers.Dense(2)])
        >>> model(np.zeros((3, 4), "float32")).shape, model.count_params()
        ((3, 2), 10)
    """

    _accepts_list = False

    def __init__(self, layers=None, name=None, trainable=True):
        Model.__init__(self, name=name, trainable=trainable)
        self._layers = []
        self._input_layer = None
        self._declared_input_shape = None     # from Input(...) or a first layer's input_shape
        self._graph = None
        for layer in layers or []:
            self.add(layer)

    # -- structure ---------------------------------------------------------------
    @property
    def layers(self):
        """The layers in order (an ``InputLayer`` is not listed, as in Keras)."""
        return list(self._layers)

    def _sublayers(self):
        return self._layers

    def add(self, layer):
        """Append ``layer``. An Input may only come first; it sets the input shape.

        Args:
            layer (Layer or SymbolicTensor): the layer, or an ``mg.Input(...)`` (first only).

        Raises:
            ValueError: for an Input that does not come first; TypeError for anything that is
                not a layer.

        Example:
            >>> model = mg.Sequential()
            >>> model.add(mg.Input((4,)))
            >>> model.add(layers.Dense(2))
            >>> model.count_params()
            10
        """
        input_layer_cls = _input_layer_class()
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, input_layer_cls):
            layer = layer.layer
        if isinstance(layer, input_layer_cls):
            if self._layers or self._input_layer is not None:
                raise ValueError(f"Sequential '{self.name}': an InputLayer can only be the "
                                 f"first layer; the model already has "
                                 f"{len(self._layers)} layer(s).")
            self._input_layer = layer
            self._declare_input_shape(layer.batch_input_shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: the added layer must be an instance of "
                            f"minigrad.layers.Layer. Received: layer={layer!r} (of type "
                            f"{type(layer).__name__})")
        if layer is self:
            raise ValueError("Sequential.add: a model cannot contain itself.")
        names = {existing.name for existing in self._layers}
        if layer.name in names:
            raise ValueError(f"Sequential '{self.name}': all layers must have unique names; "
                             f"'{layer.name}' is already in the model. Pass name=... to one "
                             "of them.")
        self._layers.append(layer)
        try:
            if len(self._layers) == 1 and self._input_layer is None and \
                    layer._batch_input_shape is not None:
                self._declare_input_shape(layer._batch_input_shape)
            elif self._build_shape is not None:
                self._build_layers(self._build_shape)
        except Exception:
            self._layers.pop()              # a layer that does not fit is not added
            raise

    def _declare_input_shape(self, batch_shape):
        self._declared_input_shape = tuple(batch_shape)
        try:
            self._build_layers(self._declared_input_shape)
        except Exception:
            self._declared_input_shape = None
            raise

    def pop(self):
        """Remove and return the last layer."""
        if not self._layers:
            raise TypeError(f"Sequential '{self.name}': there are no layers to pop.")
        layer = self._layers.pop()
        if not self._layers:
            self._graph = None
            if self._declared_input_shape is None:
                self.built = False
                self._build_shape = None
        elif self._build_shape is not None:
            self._build_layers(self._build_shape)
        return layer

    # -- building and calling ----------------------------------------------------
    def build(self, input_shape=None):
        """Build every layer for inputs of ``input_shape`` (batch axis included)."""
        if input_shape is None:
            if self._declared_input_shape is None:
                raise ValueError(f"Sequential '{self.name}': build() needs an input_shape "
                                 "(e.g. (None, 8, 8, 1)) unless the model starts with "
                                 "Input(...) or a layer given input_shape=.")
            input_shape = self._declared_input_shape
        self._build_layers(tuple(input_shape))

    def _build_layers(self, input_shape):
        """Call the layers on a symbolic input of ``input_shape``: the chain graph.

        All or nothing: if a layer does not fit, the layers this build created weights
        for are unbuilt again and the model keeps its previous state.
        """
        shape = (None,) + tuple(input_shape[1:]) if self._declared_input_shape is None \
            else tuple(self._declared_input_shape)
        if self._input_layer is not None:
            inputs = self._input_layer.output
        else:
            dtype = self._layers[0].dtype if self._layers else self.dtype
            inputs = _input_layer_class()(batch_shape=shape, dtype=dtype).output
        fresh = _unbuilt(self._layers)
        before = {id(layer): (len(layer._weights), len(layer._inbound_nodes), layer.input_spec)
                  for layer in fresh + self._layers}
        try:
            x = inputs
            for layer in self._layers:
                x = layer(x)
            graph = Graph([inputs], [x], self.name) if self._layers else None
        except Exception:
            for layer in self._layers:
                del layer._inbound_nodes[before[id(layer)][1]:]
            for layer in fresh:             # nested layers too; their input_spec as before
                n_weights, _, spec = before[id(layer)]
                del layer._weights[n_weights:]
                layer.built, layer._build_shape, layer.input_spec = False, None, spec
            raise
        self._graph = graph
        self._build_shape = shape
        self.built = True

    def _build_with(self, shape):
        self._build_layers(tuple(shape))

    def compute_output_shape(self, input_shape):
        if self._graph is not None and tuple(input_shape)[1:] == self._build_shape[1:]:
            return self._graph.outputs[0].shape
        spec = (tuple(input_shape), self.dtype)
        for layer in self._layers:
            spec = output_specs(layer, SymbolicTensor(*spec), {})
        return spec[0]

    @property
    def input_shape(self):
        """Expected input shape with None for the batch axis (the model must be built)."""
        if self._build_shape is None:
            raise AttributeError(f"Sequential '{self.name}' has no input shape yet: it is not "
                                 "built.")
        return self._build_shape

    @property
    def output_shape(self):
        return self.compute_output_shape(self.input_shape)

    @property
    def inputs(self):
        return None if self._graph is None else list(self._graph.inputs)

    @property
    def outputs(self):
        return None if self._graph is None else list(self._graph.outputs)

    @property
    def output_names(self):
        return [self._layers[-1].name] if self._layers else []

    def _check_input_shape(self, shape, what="input"):
        """Raise if ``shape`` does not fit the declared input shape (rank, fixed sizes)."""
        expected = self._declared_input_shape or self._build_shape
        if expected is None:
            return
        fixed = self._declared_input_shape is not None
        bad = len(shape) != len(expected) or (fixed and any(
            e is not None and s != e for e, s in zip(expected[1:], shape[1:])))
        if bad:
            raise ValueError(f"Model '{self.name}' expects {what} of shape {expected} (None = "
                             f"any size), but received {what} with shape {tuple(shape)}.")

    def call(self, inputs, training=None):
        if not self._layers:
            raise ValueError(f"Sequential '{self.name}' has no layers; add some first.")
        self._check_input_shape(inputs.shape)
        if self._graph is None:
            self._build_layers(inputs.shape)
        return self._graph.run([inputs], training)[0]

    # -- configuration -----------------------------------------------------------
    def get_config(self):
        """``{"name", "trainable", "layers": [{"class_name", "config"}, ...]}`` (Keras's
        shape); an ``InputLayer`` comes first when the model has one."""
        items = ([self._input_layer] if self._input_layer is not None else []) + self._layers
        return {"name": self.name, "trainable": self.trainable,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in items]}

    @classmethod
    def from_config(cls, config):
        """A new model with the same layers (fresh weights; built if the input shape is known)."""
        from .functional import layer_class
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for item in config["layers"]:
            name = item["class_name"]
            layer_cls = cls if name == cls.__name__ else layer_class(name)
            model.add(layer_cls.from_config(item["config"]))
        return model
