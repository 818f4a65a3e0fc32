"""``Conv1D`` / ``Conv2D``, and the argument checks every convolution layer shares.

A convolution layer's constructor turns its arguments into one canonical form and
rejects anything else with a message naming the argument and the value received::

    kernel_size=3       -> (3,)      (an int is repeated once per spatial axis)
    padding="SAME"      -> "same"    ("causal" only for the 1D layers)
    data_format=None    -> mg.config.image_data_format()

The helpers here do that for :class:`Conv` and for the depthwise / separable family in
:mod:`minigrad.layers.depthwise_separable`.

Shapes (channels_last; channels_first puts C right after the batch axis)::

    input   (N, *spatial, Cin)
    kernel  (*kernel_size, Cin, filters)
    bias    (filters,)
    output  (N, *out, filters)     out per axis: see ops.conv_output_length
"""
import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from ..ops import geometry
from .base import InputSpec, Layer
from .reference import document, document_arguments

# ----------------------------------------------------------------------------------------
# Argument checks shared by the convolution layers
# ----------------------------------------------------------------------------------------


# kernel_size / strides / dilation_rate -> tuples of positive ints (bounded), and
# data_format -> "channels_last" / "channels_first": the shared checks of ops/geometry.py.
normalize_tuple = geometry.int_tuple
normalize_data_format = geometry.data_format
_is_int = geometry.is_int


def positive_int(value, name):
    """``filters``, ``depth_multiplier``: a strictly positive int."""
    if not _is_int(value) or value <= 0:
        raise ValueError(f"Invalid value for argument `{name}`. Expected a strictly positive "
                         f"integer. Received {name}={value!r}.")
    return int(value)


def normalize_padding(value, rank, layer):
    """``"valid"`` / ``"same"`` (any case); ``"causal"`` only for rank-1 layers."""
    allowed = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
    choices = "{" + ", ".join(repr(a) for a in allowed) + "}"
    if not isinstance(value, str):
        raise ValueError(f"The `padding` argument of {layer} must be one of {choices} "
                         f"(explicit padding lists are not supported). Received: "
                         f"padding={value!r}")
    mode = value.lower()
    if mode == "causal" and rank != 1:
        raise ValueError(f"padding='causal' is only supported by the 1D layers (Conv1D, "
                         f"DepthwiseConv1D, SeparableConv1D); {layer} accepts {choices}. "
                         f"Received: padding={value!r}")
    if mode not in allowed:
        raise ValueError(f"The `padding` argument of {layer} must be one of {choices}. "
                         f"Received: padding={value!r}")
    return mode


def check_strides_with_dilation(strides, dilation_rate, kernel_size=None):
    """The seeds' rule: a stride above 1 and a dilation above 1 cannot be combined. (And the
    dilated kernel must fit ops/geometry.py's bound.)"""
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                         f"Received: strides={strides} and dilation_rate={dilation_rate}")
    if kernel_size is not None:
        geometry.check_kernel_span(kernel_size, dilation_rate)


def set_window_arguments(layer, kernel_size, strides, padding, data_format, dilation_rate):
    """Check the sliding-window arguments every convolution layer takes and keep them on
    ``layer`` (``kernel_size``, ``strides``, ``dilation_rate`` as tuples of ``layer.rank``
    ints; ``padding``; ``data_format``)."""
    r, cls = layer.rank, type(layer).__name__
    layer.kernel_size = normalize_tuple(kernel_size, r, "kernel_size")
    layer.strides = normalize_tuple(strides, r, "strides")
    layer.padding = normalize_padding(padding, r, cls)
    layer.data_format = normalize_data_format(data_format)
    layer.dilation_rate = normalize_tuple(dilation_rate, r, "dilation_rate")
    check_strides_with_dilation(layer.strides, layer.dilation_rate, layer.kernel_size)


def check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Expected `{name}` to be a boolean. Received: {name}={value!r} "
                         f"(of type {type(value)})")
    return bool(value)


def conv_output_shape(layer, input_shape, out_channels):
    """``(N, *out, out_channels)`` (or channels first) for ``input_shape``; None dims stay
    None. Raises if the input rank is wrong or a spatial output size would be <= 0."""
    input_shape = tuple(input_shape)
    r = layer.rank
    if len(input_shape) != r + 2:
        layout = "(batch, channels, *spatial)" if layer.data_format == "channels_first" \
            else "(batch, *spatial, channels)"
        raise ValueError(f"Input 0 of layer '{layer.name}' is incompatible with the layer: "
                         f"expected ndim={r + 2} {layout}, found ndim={len(input_shape)}. Full "
                         f"shape received: {input_shape}")
    first = layer.data_format == "channels_first"
    spatial = input_shape[2:] if first else input_shape[1:-1]
    out = tuple(ops.conv_output_length(L, k, s, d, layer.padding)
                for L, k, s, d in zip(spatial, layer.kernel_size, layer.strides,
                                      layer.dilation_rate))
    if any(o is not None and o <= 0 for o in out):
        channels = input_shape[1] if first else input_shape[-1]
        raise ValueError(
            f"Computed output size would be zero or negative. Received `inputs "
            f"shape={input_shape}`, `kernel shape={layer.kernel_size + (channels, out_channels)}`"
            f", `dilation_rate={list(layer.dilation_rate)}`, `strides={layer.strides}`, "
            f"`padding={layer.padding}` (layer '{layer.name}'; the dilated kernel spans "
            f"{[d * (k - 1) + 1 for k, d in zip(layer.kernel_size, layer.dilation_rate)]} "
            f"input positions).")
    return (input_shape[0], out_channels) + out if first else \
        (input_shape[0],) + out + (out_channels,)


def check_call_shape(layer, input_shape, output_shape):
    """Run ``output_shape(input_shape)`` (the layer's shape checks, whose messages name
    the layer) once for each new input shape and geometry: a layer in a model sees the
    same ones at every step. The op checks its arguments again either way."""
    key = (input_shape, layer.kernel_size, layer.strides, layer.padding,
           layer.dilation_rate, layer.data_format)
    if layer.__dict__.get("_checked_call") != key:
        output_shape(input_shape)
        object.__setattr__(layer, "_checked_call", key)


def input_channels(layer, input_shape):
    """The channel count of ``input_shape`` (must be known to build weights)."""
    channels = input_shape[1 if layer.data_format == "channels_first" else -1]
    if channels is None:
        raise ValueError(f"The channel dimension of the inputs to layer '{layer.name}' should "
                         f"be defined, but it is None (input shape {tuple(input_shape)}, "
                         f"data_format={layer.data_format!r}).")
    if channels <= 0:
        raise ValueError(f"Layer '{layer.name}' needs at least one input channel, but the "
                         f"channel axis of the input shape {tuple(input_shape)} "
                         f"(data_format={layer.data_format!r}) has size {channels}.")
    return int(channels)


def get_initializer(identifier, default):
    """``initializers.get``; None means the documented default."""
    return initializers.get(default if identifier is None else identifier)


def serialize(module, obj):
    """``module.serialize(obj)`` with None kept as None (for config dicts)."""
    return None if obj is None else module.serialize(obj)


def add_bias_on_channels(layer, y, bias):
    """``y + bias`` with bias (channels,) broadcast on the data_format's channel axis."""
    if layer.data_format == "channels_first":
        bias = ops.reshape(bias, (-1,) + (1,) * layer.rank)
    return y + bias


# ----------------------------------------------------------------------------------------
# Conv1D / Conv2D
# ----------------------------------------------------------------------------------------


class Conv(Layer):
    """Full convolution layer of rank 1 or 2 (subclasses fix ``rank``)::

        y = activation(conv(x, kernel) + bias)
        y[n, o, f] = sum_j sum_c xpad[n, o*s + j*d, c] * kernel[j, c, f] + bias[f]

    Weights: ``kernel`` (*kernel_size, Cin, filters), ``bias`` (filters,).
    As in Keras 3, ``strides > 1`` with ``dilation_rate > 1`` raises, and ``groups``
    must be 1 here (grouped convolution is not implemented).
    """

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        r, cls = self.rank, type(self).__name__
        self.filters = positive_int(filters, "filters")
        set_window_arguments(self, kernel_size, strides, padding, data_format, dilation_rate)
        if groups != 1 or not _is_int(groups):
            raise ValueError(f"{cls} supports only `groups=1` (grouped convolution is not "
                             f"implemented in minigrad). Received: groups={groups!r}")
        self.groups = 1
        self.activation = activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = get_initializer(kernel_initializer, "glorot_uniform")
        self.bias_initializer = get_initializer(bias_initializer, "zeros")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(min_ndim=r + 2)
        self.kernel = None
        self.bias = None

    def build(self, input_shape):
        conv_output_shape(self, input_shape, self.filters)      # rank and size checks first
        channels = input_channels(self, input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, self.filters),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                        self.bias_regularizer, self.bias_constraint)
        axis = 1 if self.data_format == "channels_first" else -1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={axis: channels})
        self.built = True

    def call(self, inputs):
        check_call_shape(self, inputs.shape, self.compute_output_shape)
        y = ops.conv(inputs, self.kernel, self.strides, self.padding, self.data_format,
                     self.dilation_rate, bias=self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return conv_output_shape(self, input_shape, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": self.dilation_rate, "groups": self.groups,
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": serialize(initializers, self.kernel_initializer),
            "bias_initializer": serialize(initializers, self.bias_initializer),
            "kernel_regularizer": serialize(regularizers, self.kernel_regularizer),
            "bias_regularizer": serialize(regularizers, self.bias_regularizer),
            "activity_regularizer": serialize(regularizers, self.activity_regularizer),
            "kernel_constraint": serialize(constraints, self.kernel_constraint),
            "bias_constraint": serialize(constraints, self.bias_constraint),
        })
        return config


class Conv1D(Conv):
    """1D convolution over ``(batch, steps, channels)``; ``padding="causal"`` pads
    ``dilation_rate * (kernel_size - 1)`` zeros on the left (output t sees inputs <= t*s)."""

    rank = 1


class Conv2D(Conv):
    """2D convolution over ``(batch, rows, cols, channels)``."""

    rank = 2


Convolution1D, Convolution2D = Conv1D, Conv2D


# -- the reference help() shows (assembled by layers/reference.py) -------------------------
for _cls, _example in ((Conv1D, ('Conv1D(4, 3, padding="causal")', (2, 10, 3), (2, 10, 4), 40)),
                       (Conv2D, ('Conv2D(8, 3, strides=2)', (2, 9, 9, 3), (2, 4, 4, 8), 224))):
    _r = _cls.rank
    _spatial, _new = ("steps", "new_steps") if _r == 1 else ("rows, cols", "new_rows, new_cols")
    document(
        _cls,
        f"Full {_r}D convolution: every output channel is a learned filter over the window of "
        "every input channel (the layer a separable convolution factorises).",
        ("y[n, o, f] = activation(sum_j sum_c K[j, c, f] * xpad[n, o*s + j*d, c] + bias[f])"
         if _r == 1 else
         "y[n, oh, ow, f] = activation(sum_{i,j,c} K[i, j, c, f] * xpad[n, oh*sh + i*dh, "
         "ow*sw + j*dw, c] + bias[f])") + "\n(xpad: the padded input; C input channels, F = filters)",
        f"(batch, {_spatial}, channels) with channels_last, (batch, channels, {_spatial}) with "
        "channels_first.",
        f"(batch, {_new}, filters) with channels_last; per axis, new length = "
        'floor((L - d*(k-1) - 1) / s) + 1 for "valid", ceil(L / s) otherwise.',
        f"kernel  {'(k, C, F)' if _r == 1 else '(kh, kw, C, F)'}\nbias    (F,)   if use_bias\n"
        "Multiply-adds per output position: prod(k) * C * F.",
        _example, rank=_r)
document_arguments(Conv)
