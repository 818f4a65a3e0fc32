"""``Sequential``: a stack of layers, each feeding the next.

    model = mg.Sequential([
        layers.SeparableConv2D(16, 3, activation="relu", input_shape=(8, 8, 1)),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10),
    ])
    model.summary()                         # shapes, parameters, multiply-adds per layer
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3)               # see minigrad/training.py

A Sequential is itself a :class:`~minigrad.layers.Layer`: its weights are its layers'
weights (in order), its ``losses`` are their penalties, and ``model(x, training=True)``
runs the layers one after the other, handing ``training`` to those that use it
(Dropout, BatchNormalization). Training (``compile``/``fit``/...) comes from
:class:`~minigrad.training.Trainer`; weights files from :mod:`minigrad.saving`.
"""
import numpy as np

from . import saving
from .layers.base import Layer
from .training import Trainer

__all__ = ["Sequential"]


def _input_layer_class():
    try:
        from .layers.core import InputLayer
    except ImportError:            # pragma: no cover - core layers not available
        return None
    return InputLayer


class Sequential(Trainer, Layer):
    """A linear stack of layers.

    layers: optional list of layers, added in order with :meth:`add`. A first
        ``InputLayer`` (``mg.Input(shape)``) or a first layer given ``input_shape=``
        fixes the input shape and builds the model at once; otherwise the model builds
        on its first call (or on ``build(input_shape)``).
    name: the model's name (default ``"sequential"``, ``"sequential_1"``, ...).
    """

    def __init__(self, layers=None, name=None, trainable=True):
        Layer.__init__(self, name=name, trainable=trainable)
        self._layers = []
        self._input_layer = None
        self._declared_input_shape = None     # from Input(...) or a first layer's input_shape
        self._init_training_state()
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
        """Append ``layer``. An ``InputLayer`` may only come first; it sets the input shape."""
        input_layer_cls = _input_layer_class()
        if input_layer_cls is not None and isinstance(layer, input_layer_cls):
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
        if not self._layers and self._declared_input_shape is None:
            self.built = False
            self._build_shape = None
        return layer

    def get_layer(self, name=None, index=None):
        """A layer by ``index`` (position in ``layers``) or by ``name``."""
        if index is not None and name is not None:
            raise ValueError("get_layer: provide only one of `name` and `index`. Received: "
                             f"name={name!r}, index={index!r}")
        if index is not None:
            if not isinstance(index, (int, np.integer)) or not \
                    -len(self._layers) <= index < len(self._layers):
                raise ValueError(f"get_layer: index={index!r} is out of range; model "
                                 f"'{self.name}' has {len(self._layers)} layers.")
            return self._layers[index]
        if name is not None:
            for layer in self._layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"get_layer: no layer named '{name}' in model '{self.name}'. "
                             f"Layers: {', '.join(l.name for l in self._layers) or '(none)'}.")
        raise ValueError("get_layer: provide either `name` or `index`.")

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
        shape = (None,) + tuple(input_shape[1:]) if self._declared_input_shape is None \
            else tuple(self._declared_input_shape)
        current = shape
        for layer in self._layers:
            if not layer.built:
                layer._build_with(current)
            current = tuple(layer.compute_output_shape(current))
        self._build_shape = shape
        self.built = True

    def _build_with(self, shape):
        self._build_layers(tuple(shape))

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

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
        if self._input_layer is not None:
            inputs = self._input_layer(inputs)
        x = inputs
        for layer in self._layers:
            x = layer(x, training=training)
        return x

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
        from . import layers as layers_module
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for item in config["layers"]:
            name = item["class_name"]
            layer_cls = cls if name == cls.__name__ else getattr(layers_module, name, None)
            if not (isinstance(layer_cls, type) and issubclass(layer_cls, Layer)):
                raise ValueError(f"Sequential.from_config: unknown layer class {name!r}.")
            model.add(layer_cls.from_config(item["config"]))
        return model

    # -- weights and losses ------------------------------------------------------
    def _activity_losses_all(self):
        result = list(self._activity_losses)
        for layer in self._layers:
            if isinstance(layer, Sequential):
                result.extend(layer._activity_losses_all())
            else:
                result.extend(layer._activity_losses)
                for sub in layer._sublayers():
                    result.extend(sub._activity_losses)
        return result

    @property
    def losses(self):
        """Activity penalties of the last call (all layers), then one penalty per
        regularized trainable weight, in weight order (recomputed on every access)."""
        result = self._activity_losses_all()
        for w in self.trainable_weights:
            if w.regularizer is not None:
                result.append(w.regularizer(w))
        return result

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on model '{self.name}', but "
                             "the model isn't built. Call it on data, call "
                             "`build(input_shape)`, or give the first layer an input_shape.")
        return int(sum(w.size for w in self.weights))

    def save_weights(self, filepath, overwrite=True):
        """Write all weights to a ``.npz`` file (atomically); see :mod:`minigrad.saving`."""
        import os
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False.")
        return saving.save_weights(self, filepath)

    def load_weights(self, filepath, by_name=False):
        """Load weights written by :meth:`save_weights`; checked in full before any change."""
        saving.load_weights(self, filepath, by_name=by_name)

    # -- summary -----------------------------------------------------------------
    def summary(self, line_length=None, print_fn=None):
        """Print a table: each layer's name and type, output shape, parameter count and
        multiply-adds per sample, then the parameter totals (equal to Keras's)."""
        if not self.built:
            raise ValueError(f"Model '{self.name}' has not yet been built. Build it first by "
                             "calling build(input_shape), calling it on data, or giving the "
                             "first layer an input_shape (or starting with mg.Input(shape)).")
        print_fn = print if print_fn is None else print_fn
        for line in summary_lines(self, line_length):
            print_fn(line)


def _kernel_weights(layer):
    return [w for w in layer.weights if (w.name or "").endswith("kernel")]


def multiply_adds(layer, output_shape):
    """Multiply-adds one sample costs in ``layer`` (0 for layers without kernels).

    Every output position multiplies each weight of each kernel once: a depthwise
    kernel ``(k, C, M)`` costs ``positions * k*C*M``, a pointwise ``(1, C*M, F)``
    ``positions * C*M*F``, a full conv ``(k, C, F)`` ``positions * k*C*F``, a Dense
    kernel ``(n, units)`` ``positions * n*units`` (positions = 1 for flat inputs).
    """
    if isinstance(layer, Sequential):
        total, shape = 0, layer.input_shape
        for sub in layer.layers:
            shape = tuple(sub.compute_output_shape(shape))
            total += multiply_adds(sub, shape)
        return total
    kernels = _kernel_weights(layer)
    if not kernels:
        return 0
    return _positions(layer, output_shape) * sum(w.size for w in kernels)


def _positions(layer, output_shape):
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        spatial = output_shape[2:]
    else:
        spatial = output_shape[1:-1]
    return int(np.prod([s for s in spatial if s is not None], dtype=np.int64))


def _separable_savings(layer, output_shape):
    """(depthwise, pointwise, full conv) multiply-adds of a separable layer, or None."""
    names = {w.name: w for w in layer.weights}
    dw, pw = names.get("depthwise_kernel"), names.get("pointwise_kernel")
    if dw is None or pw is None:
        return None
    positions = _positions(layer, output_shape)
    k = int(np.prod(dw.shape[:-2]))
    channels, filters = dw.shape[-2], pw.shape[-1]
    return positions * dw.size, positions * pw.size, positions * k * channels * filters


def summary_lines(model, line_length=None):
    """The lines of ``model.summary()`` (a list of strings)."""
    widths = [46, 22, 10, 14]
    if line_length:
        widths[0] = max(20, line_length - sum(widths[1:]))
    total_width = sum(widths)

    def row(cells):
        name, shape, params, madds = cells
        return (f"{name:<{widths[0]}}{shape:<{widths[1]}}{params:>{widths[2]}}"
                f"{madds:>{widths[3]}}")

    lines = [f'Model: "{model.name}"', "_" * total_width,
             row(["Layer (type)", "Output Shape", "Param #", "Mult-adds"]), "=" * total_width]
    notes = []
    shape = model.input_shape
    total_madds = 0
    for i, layer in enumerate(model.layers):
        shape = tuple(layer.compute_output_shape(shape))
        madds = multiply_adds(layer, shape)
        total_madds += madds
        params = sum(w.size for w in layer.weights)
        label = f"{layer.name} ({type(layer).__name__})"
        if len(label) > widths[0] - 1:
            label = label[:widths[0] - 4] + "..."
        lines.append(row([label, str(shape), f"{params:,}", f"{madds:,}"]))
        lines.append("_" * total_width if i < len(model.layers) - 1 else "=" * total_width)
        saving_info = _separable_savings(layer, shape)
        if saving_info is not None:
            dw, pw, full = saving_info
            ratio = full / (dw + pw) if dw + pw else float("nan")
            notes.append(f"  {layer.name}: {dw:,} depthwise + {pw:,} pointwise = {dw + pw:,} "
                         f"mult-adds; a full convolution: {full:,} ({ratio:.2g}x)")
    if not model.layers:
        lines.append("=" * total_width)
    trainable = sum(w.size for w in model.trainable_weights)
    total = sum(w.size for w in model.weights)
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              f"Mult-adds per sample: {total_madds:,}"]
    if notes:
        lines.append("Separable convolutions:")
        lines += notes
    lines.append("_" * total_width)
    return lines
