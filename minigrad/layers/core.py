"""Core layers: ``Dense``, ``Flatten``, ``Reshape``, ``Activation``, ``Dropout``,
``ActivityRegularization`` and ``InputLayer`` / ``Input``.

Shapes include the batch axis ``N``::

    Dense(units)                (N, ..., in)   -> (N, ..., units)     y = act(x @ kernel + bias)
    Flatten()                   (N, d1, d2...) -> (N, d1*d2*...)
    Reshape(target_shape)       (N, ...)       -> (N, *target_shape)
    Activation(act)             any            -> same shape
    Dropout(rate)               any            -> same shape (identity unless training=True)
    ActivityRegularization()    any            -> same shape (adds l1/l2 penalty to losses)
    InputLayer(shape)           (N, *shape)    -> same shape (checks the shape)
"""
import numbers

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from .. import random as _random
from ..ops import geometry
from ..ops.nn import dropout  # noqa: F401  (Dropout's op; importable from here too)
from .base import InputSpec, Layer
from .reference import document


def _positive_int(value, argument, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{owner}: the `{argument}` argument must be a positive integer. "
                         f"Received: {argument}={value!r}")
    return int(value)


# None -> mg.config.image_data_format(), else "channels_last" / "channels_first"
standardize_data_format = geometry.data_format


# ----------------------------------------------------------------------------------------
class Dense(Layer):
    """A fully connected layer on the last axis: ``activation(x @ kernel + bias)``.

    units: positive int, size of the output's last axis.
    kernel: shape (in, units), ``glorot_uniform``; bias: shape (units,), ``zeros``.
    Inputs of any rank >= 2: (N, ..., in) -> (N, ..., units).
    Parameters: ``in * units + units`` (e.g. Dense(10) on 8 inputs: 90).
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = _positive_int(units, "units", "Dense")
        self.activation = activations.get(activation)
        if not isinstance(use_bias, (bool, np.bool_)):
            raise ValueError(f"Dense: `use_bias` must be a boolean. Received: "
                             f"use_bias={use_bias!r}")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.kernel = self.bias = None

    def build(self, input_shape):
        in_features = input_shape[-1]
        if in_features is None or in_features <= 0:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must have a "
                             f"known positive size. Received input shape {input_shape}")
        self.kernel = self.add_weight("kernel", (in_features, self.units),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        self.bias_regularizer, self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_features})
        self.built = True

    def call(self, inputs):
        y = inputs @ self.kernel
        if self.use_bias:
            y = y + self.bias
        return self.activation(y) if self.activation is not None else y

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"Dense '{self.name}' expects inputs of rank >= 2, got shape "
                             f"{tuple(input_shape)}")
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config


# ----------------------------------------------------------------------------------------
class Flatten(Layer):
    """Collapse every axis but the batch axis: (N, d1, d2, ...) -> (N, d1*d2*...).

    data_format: with ``"channels_first"`` the channel axis is moved last before
    flattening, so the element order matches a channels_last model (as in Keras).
    A rank-1 input (N,) becomes (N, 1).
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, "Flatten")
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(s is None for s in rest) else int(np.prod(rest, dtype=np.int64))
        return (input_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


# ----------------------------------------------------------------------------------------
class Reshape(Layer):
    """Reshape every sample: (N, ...) -> (N, *target_shape).

    target_shape: tuple of positive ints, at most one of them -1 (inferred).
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, numbers.Integral) and not isinstance(target_shape, bool):
            target_shape = (target_shape,)
        try:
            shape = tuple(target_shape)
        except TypeError:
            raise TypeError(f"Reshape: `target_shape` must be a tuple of integers. Received: "
                            f"target_shape={target_shape!r}") from None
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and
                   (s > 0 or s == -1) for s in shape):
            raise ValueError(f"Reshape: `target_shape` must contain positive integers (and "
                             f"at most one -1). Received: target_shape={target_shape!r}")
        if list(shape).count(-1) > 1:
            raise ValueError(f"Reshape: `target_shape` can contain at most one -1. Received: "
                             f"target_shape={target_shape!r}")
        self.target_shape = tuple(int(s) for s in shape)

    def _resolve(self, input_shape):
        """The output shape of one sample; checks that the sizes match."""
        size = input_shape[1:]
        if any(s is None for s in size):
            return tuple(None if s == -1 else s for s in self.target_shape)
        size = int(np.prod(size, dtype=np.int64))
        known = int(np.prod([s for s in self.target_shape if s != -1], dtype=np.int64))
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"Reshape '{self.name}': cannot reshape an input of shape "
                                 f"{tuple(input_shape)} ({size} elements per sample) into "
                                 f"target_shape={self.target_shape}: {size} is not divisible "
                                 f"by {known}.")
            return tuple(size // known if s == -1 else s for s in self.target_shape)
        if known != size:
            raise ValueError(f"Reshape '{self.name}': total size of the input ({size} elements "
                             f"per sample, input shape {tuple(input_shape)}) must equal the "
                             f"size of target_shape={self.target_shape} ({known} elements).")
        return self.target_shape

    def build(self, input_shape):
        self._resolve(input_shape)
        self.built = True

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self._resolve(inputs.shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


# ----------------------------------------------------------------------------------------
class Activation(Layer):
    """Apply an activation function (a name such as ``"relu"`` or any callable)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs) if self.activation is not None else inputs

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Dropout(Layer):
    """Randomly set inputs to 0 with probability ``rate`` — only when ``training=True``.

    Kept inputs are scaled by 1/(1 - rate), so nothing changes at inference time.
    rate: float in [0, 1).
    noise_shape: mask shape; None entries take the input's size (e.g. ``(None, 1, None)``).
    seed: int for a reproducible mask sequence (each call draws a new mask from this
        layer's Generator); None draws the Generator's seed from ``minigrad.random``.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if (isinstance(rate, bool) or not isinstance(rate, numbers.Real)
                or not 0 <= rate < 1):
            raise ValueError(f"Dropout: invalid value received for argument `rate`. Expected a "
                             f"float value in [0, 1). Received: rate={rate!r}")
        self.rate = float(rate)
        if noise_shape is not None:
            noise_shape = tuple(noise_shape)
            if not all(s is None or (isinstance(s, numbers.Integral) and s > 0)
                       for s in noise_shape):
                raise ValueError(f"Dropout: `noise_shape` must contain positive integers or "
                                 f"None. Received: noise_shape={noise_shape!r}")
        self.noise_shape = noise_shape
        self.seed = seed
        self._rng = _random.make_rng(seed)

    def _noise_shape(self, shape):
        if self.noise_shape is None:
            return None
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"Dropout '{self.name}': `noise_shape` {self.noise_shape} must "
                             f"have the rank of the input, got input shape {shape}.")
        result = tuple(n if s is None else s for s, n in zip(self.noise_shape, shape))
        for s, n in zip(result, shape):
            if s not in (1, n):
                raise ValueError(f"Dropout '{self.name}': noise_shape={self.noise_shape} "
                                 f"does not broadcast against the input shape {shape}: each "
                                 f"entry must be 1, None or the input's size.")
        return result

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return dropout(inputs, self.rate, self._rng, self._noise_shape(inputs.shape))

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config


# ----------------------------------------------------------------------------------------
def _non_negative(value, argument, owner):
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not np.isfinite(value) or value < 0):
        raise ValueError(f"{owner}: invalid value for argument {argument}: expected a "
                         f"non-negative float. Received: {argument}={value!r}")
    return float(value)


class ActivityRegularization(Layer):
    """Identity on its input; adds ``(l1 * sum|y| + l2 * sum y^2) / batch_size`` to
    ``losses`` on every call."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        if "activity_regularizer" in kwargs:
            raise ValueError("ActivityRegularization sets its own activity regularizer from "
                             "`l1` and `l2`; do not pass `activity_regularizer`.")
        l1 = _non_negative(l1, "l1", "ActivityRegularization")
        l2 = _non_negative(l2, "l2", "ActivityRegularization")
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2

    def call(self, inputs):
        return inputs

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config


# ----------------------------------------------------------------------------------------
class InputLayer(Layer):
    """The placeholder that starts a model: it fixes the input shape and checks it.

    shape: shape of one sample (no batch axis), e.g. ``(8, 8, 1)``; None entries are free.
    batch_size: optional fixed batch size.
    batch_shape: the full shape with batch axis instead of ``shape`` / ``batch_size``
        (``batch_input_shape`` and ``input_shape`` are accepted as Keras 2 spellings).

    ``layer.batch_input_shape`` is the full expected shape, e.g. ``(None, 8, 8, 1)``.
    Calling the layer returns its input unchanged after checking rank and fixed sizes.
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 input_shape=None, batch_input_shape=None, **kwargs):
        given = [a for a, v in (("shape", shape), ("input_shape", input_shape),
                                ("batch_shape", batch_shape),
                                ("batch_input_shape", batch_input_shape)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"InputLayer: pass only one of `shape` and `batch_shape`. "
                             f"Received: {', '.join(given)}")
        if not given:
            raise ValueError("InputLayer: an input shape is required: pass `shape` (without "
                             "the batch axis, e.g. shape=(8, 8, 1)) or `batch_shape`.")
        sample = shape if shape is not None else input_shape
        full = batch_shape if batch_shape is not None else batch_input_shape
        if sample is not None:
            sample = _shape_tuple(sample, "shape")
        else:
            full = _shape_tuple(full, "batch_shape")
            if not full:
                raise ValueError(f"InputLayer: `batch_shape` must include the batch axis. "
                                 f"Received: batch_shape={batch_shape!r}")
        if batch_size is not None:
            batch_size = _positive_int(batch_size, "batch_size", "InputLayer")
        super().__init__(name=name, dtype=dtype, input_shape=sample,
                         batch_input_shape=full, batch_size=batch_size, **kwargs)
        self.batch_input_shape = self._batch_input_shape
        self.input_spec = InputSpec(
            ndim=len(self.batch_input_shape),
            axes={i: s for i, s in enumerate(self.batch_input_shape) if i and s is not None})
        self.built = True
        self._build_shape = self.batch_input_shape
        from .symbolic import make_input
        self.output = make_input(self)        # the symbolic tensor mg.Input(...) returns

    @property
    def shape(self):
        """Shape of one sample (no batch axis)."""
        return self.batch_input_shape[1:]

    @property
    def batch_size(self):
        return self.batch_input_shape[0]

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape=None):
        return self.batch_input_shape if input_shape is None else tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.pop("batch_input_shape", None)
        config.update({"batch_shape": self.batch_input_shape})
        return config


def _shape_tuple(shape, argument):
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        items = tuple(shape)
    except TypeError:
        raise TypeError(f"InputLayer: `{argument}` must be a tuple of integers (None for "
                        f"unknown sizes). Received: {argument}={shape!r}") from None
    for s in items:
        if s is not None and (isinstance(s, bool) or not isinstance(s, numbers.Integral)
                              or s <= 0):
            raise ValueError(f"InputLayer: `{argument}` must contain positive integers or "
                             f"None. Received: {argument}={shape!r}")
    return tuple(None if s is None else int(s) for s in items)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):  # noqa: N802
    """A symbolic input: ``x = Input((8, 8, 1))`` starts a functional model
    (``mg.Model(x, outputs)``) or a ``mg.Sequential([Input((8, 8, 1)), ...])``.

    Returns the :class:`~minigrad.layers.symbolic.SymbolicTensor` of a new
    :class:`InputLayer`: ``.shape`` is ``(batch_size, *shape)`` (None for any batch
    size), ``.dtype`` the dtype, ``.name`` the layer's name.

    Args:
        shape (tuple or None, default None): the shape of one sample (no batch axis);
            None entries are free.
        batch_size (int or None, default None): a fixed batch size; None for any.
        dtype (str or None, default None): "float32" or "float64"; None means
            ``mg.config.floatx()``.
        name (str or None, default None): the input's name (the key of a dict input).
        batch_shape (tuple or None, default None): the full shape with the batch axis,
            instead of ``shape`` and ``batch_size``.

    Raises:
        ValueError: if neither or both of ``shape`` and ``batch_shape`` are given.

    Example:
        >>> x = layers.Input((8, 8, 1))
        >>> x.shape
        (None, 8, 8, 1)
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape).output


# -- the reference help() shows (assembled by layers/reference.py) -------------------------
document(Dense, "A fully connected layer: every output unit is a weighted sum of all the inputs "
                "on the last axis.",
         "y[..., u] = activation(sum_i x[..., i] * kernel[i, u] + bias[u])",
         "(batch, ..., input_dim): any rank >= 2; only the last axis is mixed.",
         "(batch, ..., units).",
         "kernel  (input_dim, units)\nbias    (units,)   if use_bias\n"
         "Parameters: input_dim * units + units.",
         ('Dense(10, activation="relu")', (4, 8), (4, 10), 90))
document(Dropout, "Randomly sets a fraction ``rate`` of the inputs to 0 during training and scales "
                  "the rest by 1/(1 - rate), so that nothing changes at inference.",
         "training=True:  y = x * mask / (1 - rate),   mask ~ Bernoulli(1 - rate), shape noise_shape\n"
         "otherwise:      y = x",
         "any shape.", "the input's shape.", "none.",
         ("Dropout(0.5)", (4, 10), (4, 10), 0))
document(Flatten, "Collapses every axis but the batch axis into one.",
         "y[n, :] = x[n].reshape(-1)   (channels moved last first, with channels_first)",
         "(batch, d1, d2, ...); a rank-1 input (batch,) becomes (batch, 1).",
         "(batch, d1 * d2 * ...).", "none.",
         ("Flatten()", (2, 4, 4, 8), (2, 128), 0), aliases={"data_format": "flatten_data_format"})
document(Activation, "Applies an activation function to its input, elementwise (or along the "
                     "last axis, for softmax).",
         "y = activation(x)", "any shape.", "the input's shape.", "none.",
         ('Activation("relu")', (2, 5), (2, 5), 0), aliases={"activation": "activation_fn"})
document(Reshape, "Reshapes every sample, keeping the batch axis.",
         "y[n] = x[n].reshape(target_shape)   (row-major order, as NumPy)",
         "(batch, ...), any rank.", "(batch, *target_shape), with -1 replaced by the size that "
         "keeps the number of elements.", "none.",
         ("Reshape((4, -1))", (2, 3, 4), (2, 4, 3), 0))
document(ActivityRegularization, "Passes its input through unchanged and adds an L1/L2 penalty "
                                 "on it to ``layer.losses`` on every call.",
         "y = x;   layer.losses = [(l1 * sum|x| + l2 * sum x^2) / batch_size]",
         "any shape.", "the input's shape.", "none.",
         """
         >>> layer = layers.ActivityRegularization(l1=0.5)
         >>> layer(np.array([[1., -3.], [2., 0.]])).shape
         (2, 2)
         >>> float(layer.losses[0].numpy())
         1.5
         """)
document(InputLayer, "The placeholder that starts a model: it fixes the shape of the input and "
                     "checks it on every call (``layers.Input`` returns its output, the usual "
                     "way to start a functional model).",
         "y = x   (after checking the rank and every fixed size)",
         "(batch, *shape).", "the input's shape.", "none.",
         """
         >>> layer = layers.InputLayer(shape=(8, 8, 1))
         >>> layer.batch_input_shape
         (None, 8, 8, 1)
         >>> layer(np.zeros((2, 8, 8, 1), "float32")).shape
         (2, 8, 8, 1)
         >>> layer.count_params()
         0
         """, aliases={"batch_size": "input_batch_size", "input_shape": "input_layer_input_shape",
                       "batch_input_shape": "input_layer_batch_input_shape"})
