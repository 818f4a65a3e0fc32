"""``Model``: a layer that trains. The base of the three ways to build one.

* **Functional** — ``mg.Model(inputs, outputs)`` with symbolic tensors from ``mg.Input``
  (:mod:`minigrad.models.functional`); ``Model(...)`` then returns a ``Functional``.
* **Sequential** — ``mg.Sequential([...])``, a chain: the same graph machinery with one
  input and one output (:mod:`minigrad.models.sequential`).
* **Subclassed** — ``class Net(mg.Model)`` with layers assigned as attributes in
  ``__init__`` and the computation in ``call(self, x, training=False)``; the attributes are
  tracked by :class:`~minigrad.layers.Layer`, so ``weights``, ``losses``, ``trainable``,
  ``summary`` and ``save_weights`` see every sublayer.

All three share what this class adds to a Layer: ``compile/fit/evaluate/predict/...``
(:class:`~minigrad.training.Trainer`), ``layers``/``get_layer``, ``summary`` and the
``.npz`` weights files (:mod:`minigrad.saving`).
"""
import os

import numpy as np

from .. import saving
from ..layers.base import Layer
from ..training import Trainer
from .outputs import OutputsMixin

__all__ = ["Model"]


class Model(OutputsMixin, Trainer, Layer):
    """A layer with training methods; see the module docstring for the three styles.

    ``Model(inputs, outputs, name=None)`` builds a functional model. A subclass calls
    ``super().__init__(name=...)`` and defines ``call(self, inputs, training=False)``.

    Args:
        *args: ``(inputs, outputs)`` for a functional model; nothing for a subclass.
        name (str or None, default None): the model's name; None gives a unique default.
        trainable (bool, default True): False freezes every weight.
        dtype (str or None, default None): "float32" or "float64"; None means
            ``mg.config.floatx()``.
        **kwargs: ``inputs=``/``outputs=`` (the functional form), or the other keywords of
            :class:`~minigrad.layers.Layer`.

    Raises:
        TypeError: for positional arguments other than ``(inputs, outputs)``.

    Example:
        >>> x = mg.Input((4,))
        >>> model = mg.Model(x, layers.Dense(3)(x))
        >>> type(model).__name__, model.count_params()
        ('Functional', 15)
    """

    _accepts_list = True         # multi-input models take a list (or dict) of inputs

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional
            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, dtype=None, **kwargs):
        if (args or "inputs" in kwargs) and not hasattr(self, "_graph"):
            # a subclass calling super().__init__(inputs, outputs): a functional model
            # whose class is the subclass (with Functional's methods behind its own)
            from .functional import Functional, functional_subclass
            inputs = kwargs.pop("inputs", args[0] if args else None)
            outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
            if kwargs or len(args) > 2 or outputs is None:
                raise TypeError(f"{type(self).__name__}: a functional model takes "
                                "(inputs, outputs, name=None, trainable=True); received "
                                f"{len(args)} positional argument(s) and {sorted(kwargs)}.")
            if not isinstance(self, Functional):
                self.__class__ = functional_subclass(type(self))
            Functional.__init__(self, inputs, outputs, name=name, trainable=trainable)
            return
        if args:
            raise TypeError(f"{type(self).__name__}.__init__ takes keyword arguments only "
                            f"(name=..., trainable=...); received {len(args)} positional "
                            "argument(s). For a functional model call mg.Model(inputs, "
                            "outputs).")
        Layer.__init__(self, name=name, trainable=trainable, dtype=dtype, **kwargs)
        self._init_training_state()

    # -- structure ---------------------------------------------------------------
    @property
    def layers(self):
        """The model's layers (a subclass's: those assigned as attributes, in order)."""
        return list(self._sublayers())

    def get_layer(self, name=None, index=None):
        """A layer by ``index`` (position in ``layers``) or by ``name``.

        Args:
            name (str or None, default None): the layer's name.
            index (int or None, default None): its position in ``model.layers``.

        Returns:
            Layer

        Raises:
            ValueError: for both or neither, an index out of range, or an unknown name (the
                message lists the layers).
        """
        layers = self.layers
        if index is not None and name is not None:
            raise ValueError("get_layer: provide only one of `name` and `index`. Received: "
                             f"name={name!r}, index={index!r}")
        if index is not None:
            if not isinstance(index, (int, np.integer)) or not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index={index!r} is out of range; model "
                                 f"'{self.name}' has {len(layers)} layers.")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"get_layer: no layer named '{name}' in model '{self.name}'. "
                             f"Layers: {', '.join(l.name for l in layers) or '(none)'}.")
        raise ValueError("get_layer: provide either `name` or `index`.")

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"Model '{self.name}' has not yet been built, so {what} is not "
                             "known. Build it first: call it on data (model(x) or fit), call "
                             "build(input_shape), give the first layer an input_shape, or "
                             "start from mg.Input(shape).")

    def count_params(self):
        self._require_built("count_params()")
        return int(sum(w.size for w in self.weights))

    # -- weights files -----------------------------------------------------------
    def save(self, filepath, overwrite=True):
        """Write the whole model as a Keras 3 ``.keras`` archive; see :mod:`minigrad.saving`.

        Args:
            filepath (str or path): the ``.keras`` file.
            overwrite (bool, default True): False refuses an existing file.

        Raises:
            FileExistsError: if the file exists and ``overwrite`` is False.
        """
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save: {filepath!r} exists and overwrite=False.")
        return saving.save_model(self, filepath)

    def export(self, filepath, format="onnx"):
        """Export the model as an ONNX graph; see :mod:`minigrad.saving.onnx_export`.

        Args:
            filepath (str or path): the ``.onnx`` file.
            format (str, default "onnx"): the only format supported.
        """
        return saving.export(self, filepath, format=format)

    def save_weights(self, filepath, overwrite=True):
        """Write all weights to ``.npz`` (or Keras's ``.weights.h5`` layout for ``.h5``
        names), atomically; see :mod:`minigrad.saving`.

        Args:
            filepath (str or path): the file (``.npz``, or ``.weights.h5`` for Keras's layout).
            overwrite (bool, default True): False refuses an existing file.

        Raises:
            FileExistsError: if the file exists and ``overwrite`` is False.
        """
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False.")
        return saving.save_weights(self, filepath)

    def load_weights(self, filepath, by_name=False):
        """Load weights written by :meth:`save_weights` (or by Keras, ``.weights.h5``);
        checked in full before any change.

        Args:
            filepath (str or path): what :meth:`save_weights` (or Keras) wrote.
            by_name (bool, default False): ``.npz`` only: pair weights by full path instead of by
                position.

        Raises:
            ValueError: if the file does not fit the model; nothing changes then.
        """
        saving.load_weights(self, filepath, by_name=by_name)

    # -- summary -----------------------------------------------------------------
    def summary(self, line_length=None, print_fn=None):
        """Print a table: each layer's name and type, output shape, parameter count and
        multiply-adds per sample ("Connected to" too for a functional graph), then the
        parameter totals (equal to Keras's).

        Args:
            line_length (int or None, default None): the table's width; None fits the content.
            print_fn (callable or None, default None): called with each line; None is ``print``.

        Raises:
            ValueError: if the model is not built yet.

        Example:
            >>> model = mg.Sequential([mg.Input((4,)), layers.Dense(2, name="out")])
            >>> lines = []
            >>> model.summary(print_fn=lines.append)
            >>> lines[-5], lines[-2]
            ('Total params: 10', 'Mult-adds per sample: 8')
        """
        from .summary import summary_lines
        self._require_built("its summary")
        print_fn = print if print_fn is None else print_fn
        for line in summary_lines(self, line_length):
            print_fn(line)

    # -- subclassed models -------------------------------------------------------
    def build(self, input_shape):
        """Create a subclassed model's weights: run ``call`` once on zeros of
        ``input_shape`` (batch axis included; None sizes become 1), tapes paused.

        Args:
            input_shape (tuple): with the batch axis, e.g. ``(None, 8)``.

        Raises:
            ValueError: for None.
        """
        if input_shape is None:
            raise ValueError(f"Model '{self.name}': build() needs an input_shape such as "
                             "(None, 8).")
        from ..layers.symbolic import SymbolicTensor, _run_on_zeros
        self.built = True                   # so the call below does not build again
        try:
            _run_on_zeros(self, SymbolicTensor(tuple(input_shape), self.dtype), {})
        except Exception:
            self.built = False
            raise

    def call(self, inputs, training=None):
        raise NotImplementedError(f"Model '{self.name}' ({type(self).__name__}) has no "
                                  "call(): a subclass of mg.Model must define "
                                  "call(self, inputs, training=False), or build a "
                                  "functional model with mg.Model(inputs, outputs).")

    def get_config(self):
        if type(self).get_config is Model.get_config and type(self).__module__ != __name__:
            raise NotImplementedError(f"Model '{self.name}' is a subclass "
                                      f"({type(self).__name__}); define its own get_config() "
                                      "returning its constructor arguments to serialize it.")
        return Layer.get_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """``Model.from_config(functional_model.get_config())`` rebuilds the graph; a
        subclass is made with ``cls(**config)``.

        Args:
            config (dict): what ``get_config`` returned.
            custom_objects (dict or None, default None): ``{class name: class}`` for layers
                minigrad does not know.

        Returns:
            Model
        """
        if "input_layers" in config and "layers" in config:
            from .functional import Functional
            return Functional.from_config(config, custom_objects=custom_objects)
        return cls(**config)

