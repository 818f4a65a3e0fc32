"""The depthwise / separable convolution family: one base, four thin classes.

:class:`BaseDepthwiseSeparableConv` carries everything — arguments, validation (in the
constructor), ``build``, ``call``, ``compute_output_shape``, ``get_config``. The public
classes only fix the rank and, for Separable, add the pointwise stage::

    DepthwiseConv1D / DepthwiseConv2D     y = act(depthwise(x) + bias)
    SeparableConv1D / SeparableConv2D     y = act(pointwise(depthwise(x)) + bias)

Shapes (channels_last; r = rank; C input channels, M depth_multiplier, F filters)::

    input              (N, *spatial, C)
    depthwise_kernel   (*kernel_size, C, M)    output channel c*M + m
    pointwise_kernel   (1,)*r + (C*M, F)       Separable only
    bias               (C*M,) Depthwise, (F,) Separable
    output             (N, *out, C*M) or (N, *out, F)

Weight shapes do not depend on ``data_format``. Output length per axis (``ek`` =
``d*(k-1)+1``): valid ``floor((L-ek)/s)+1``; same and causal ``ceil(L/s)``; causal
(1D only) pads ``d*(k-1)`` zeros on the left.

Where minigrad deliberately differs from Keras 3:
``padding="causal"`` for the 1D layers, ``strides > 1`` with ``dilation_rate > 1`` raises,
and the Depthwise kernel is named ``depthwise_kernel`` (``layer.kernel`` is an alias).
"""
from .. import activations, constraints, initializers, ops, regularizers
from .base import InputSpec, Layer
from .reference import document, document_arguments
from .conv import (
    add_bias_on_channels, check_bool, check_call_shape, conv_output_shape, get_initializer,
    input_channels, positive_int, serialize, set_window_arguments,
)


class BaseDepthwiseSeparableConv(Layer):
    """Shared base of ``DepthwiseConv1D/2D`` and ``SeparableConv1D/2D``.

    Subclasses set ``rank`` (1 or 2) and ``separable`` (adds ``filters`` and the
    pointwise kernel). All arguments are checked here, before any state exists.
    """

    rank = None
    separable = False

    def __init__(self, *, filters=None, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, depth_multiplier=1, activation=None,
                 use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, layer_kwargs=None):
        r = self.rank
        if self.separable:
            self.filters = positive_int(filters, "filters")
        set_window_arguments(self, kernel_size, strides, padding, data_format, dilation_rate)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier")
        self.activation = activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.depthwise_initializer = get_initializer(depthwise_initializer, "glorot_uniform")
        self.bias_initializer = get_initializer(bias_initializer, "zeros")
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if self.separable:
            self.pointwise_initializer = get_initializer(pointwise_initializer,
                                                         "glorot_uniform")
            self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
            self.pointwise_constraint = constraints.get(pointwise_constraint)
        # The layer keywords (name, dtype, input_shape, ...) arrive as one dict, so that a
        # Depthwise layer given `filters=` or `pointwise_*=` reports them as unrecognized.
        super().__init__(activity_regularizer=activity_regularizer, **(layer_kwargs or {}))
        self.input_spec = InputSpec(min_ndim=r + 2)
        self.depthwise_kernel = None
        if self.separable:
            self.pointwise_kernel = None
        self.bias = None

    def _output_channels(self, channels):
        """F for Separable, C*M for Depthwise (None while C is unknown)."""
        if self.separable:
            return self.filters
        return None if channels is None else channels * self.depth_multiplier

    def _channels_of(self, input_shape):
        return tuple(input_shape)[1 if self.data_format == "channels_first" else -1]

    def build(self, input_shape):
        self.compute_output_shape(input_shape)      # rank and size checks, before any weight
        C, M = input_channels(self, input_shape), self.depth_multiplier
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (C, M), self.depthwise_initializer,
            self.depthwise_regularizer, self.depthwise_constraint)
        if self.separable:
            self.pointwise_kernel = self.add_weight(
                "pointwise_kernel", (1,) * self.rank + (C * M, self.filters),
                self.pointwise_initializer, self.pointwise_regularizer,
                self.pointwise_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self._output_channels(C),),
                                        self.bias_initializer, self.bias_regularizer,
                                        self.bias_constraint)
        axis = 1 if self.data_format == "channels_first" else -1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={axis: C})
        self.built = True

    def call(self, inputs):
        # A later call may bring shorter inputs: check with the layer's name in the message.
        check_call_shape(self, inputs.shape, self.compute_output_shape)
        geometry = (self.strides, self.padding, self.data_format, self.dilation_rate)
        if self.separable:
            y = ops.separable_conv(inputs, self.depthwise_kernel, self.pointwise_kernel,
                                   *geometry, bias=self.bias)
        else:
            y = ops.depthwise_conv(inputs, self.depthwise_kernel, *geometry)
            if self.bias is not None:
                y = add_bias_on_channels(self, y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        channels = self._channels_of(input_shape) if len(input_shape) == self.rank + 2 else None
        return conv_output_shape(self, input_shape, self._output_channels(channels))

    def get_config(self):
        config = super().get_config()
        if self.separable:
            config["filters"] = self.filters
        config.update({
            "depth_multiplier": self.depth_multiplier, "kernel_size": self.kernel_size,
            "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "depthwise_initializer": serialize(initializers, self.depthwise_initializer),
            "bias_initializer": serialize(initializers, self.bias_initializer),
            "depthwise_regularizer": serialize(regularizers, self.depthwise_regularizer),
            "bias_regularizer": serialize(regularizers, self.bias_regularizer),
            "activity_regularizer": serialize(regularizers, self.activity_regularizer),
            "depthwise_constraint": serialize(constraints, self.depthwise_constraint),
            "bias_constraint": serialize(constraints, self.bias_constraint),
        })
        if self.separable:
            config.update({
                "pointwise_initializer": serialize(initializers, self.pointwise_initializer),
                "pointwise_regularizer": serialize(regularizers, self.pointwise_regularizer),
                "pointwise_constraint": serialize(constraints, self.pointwise_constraint),
            })
        return config


class DepthwiseConv(BaseDepthwiseSeparableConv):
    """Depthwise convolution: each input channel gets its own ``depth_multiplier`` filters;
    no mixing across channels. Keras positional order (``depth_multiplier`` 4th)."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            kernel_size=kernel_size, strides=strides, padding=padding,
            depth_multiplier=depth_multiplier, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
            depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint,
            layer_kwargs=kwargs)

    @property
    def kernel(self):
        """Keras 3's name for the depthwise kernel (the same Variable)."""
        return self.depthwise_kernel


class SeparableConv(BaseDepthwiseSeparableConv):
    """Depthwise convolution followed by a pointwise (1x1) convolution to ``filters``
    channels. Keras positional order (``depth_multiplier`` 7th)."""

    separable = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(
            filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate,
            depth_multiplier=depth_multiplier, activation=activation, use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint,
            layer_kwargs=kwargs)


class DepthwiseConv1D(DepthwiseConv):
    """Depthwise 1D convolution over ``(batch, steps, channels)`` -> ``(batch, new_steps,
    channels * depth_multiplier)``. ``padding``: valid, same or causal."""

    rank = 1


class DepthwiseConv2D(DepthwiseConv):
    """Depthwise 2D convolution over ``(batch, rows, cols, channels)`` -> ``(batch,
    new_rows, new_cols, channels * depth_multiplier)``. ``padding``: valid or same."""

    rank = 2


class SeparableConv1D(SeparableConv):
    """Separable 1D convolution ``(batch, steps, channels)`` -> ``(batch, new_steps,
    filters)``. ``padding``: valid, same or causal."""

    rank = 1


class SeparableConv2D(SeparableConv):
    """Separable 2D convolution ``(batch, rows, cols, channels)`` -> ``(batch, new_rows,
    new_cols, filters)``. ``padding``: valid or same."""

    rank = 2


SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D


# -- the reference each public class shows in help() (assembled by layers/reference.py) ---
def _document(cls, example):
    r, separable = cls.rank, cls.separable
    at, k = ("o", "(k, C, M)") if r == 1 else ("oh, ow", "(kh, kw, C, M)")
    taps = "sum_j K[j, c, m] * xpad[n, o*s + j*d, c]" if r == 1 else \
        "sum_{i,j} K[i, j, c, m] * xpad[n, oh*sh + i*dh, ow*sw + j*dw, c]"
    spatial, new = ("steps", "new_steps") if r == 1 else ("rows, cols", "new_rows, new_cols")
    if separable:
        summary = (f"Separable {r}D convolution: a depthwise convolution (each channel filtered "
                   "on its own), then a pointwise 1x1 convolution that mixes the channels.")
        formula = f"""
            z[n, {at}, c*M + m] = {taps}
            y[n, {at}, f] = activation(sum_q P[q, f] * z[n, {at}, q] + bias[f])
            (xpad: the padded input; C input channels, M = depth_multiplier, F = filters)"""
        weights = f"""
            depthwise_kernel  {k}
            pointwise_kernel  {"(1, C*M, F)" if r == 1 else "(1, 1, C*M, F)"}
            bias              (F,)   if use_bias
            Multiply-adds per output position: prod(k)*C*M + C*M*F, against prod(k)*C*F
            for a full convolution (``model.summary()`` counts them)."""
        channels = "filters"
    else:
        summary = (f"Depthwise {r}D convolution: every input channel is filtered on its own by "
                   "``depth_multiplier`` filters; channels are never mixed.")
        formula = f"""
            y[n, {at}, c*M + m] = activation({taps} + bias[c*M + m])
            (xpad: the padded input; C input channels, M = depth_multiplier)"""
        weights = f"""
            depthwise_kernel  {k}   (also ``layer.kernel``)
            bias              (C*M,)   if use_bias"""
        channels = "channels * depth_multiplier"
    document(cls, summary, formula,
             f"(batch, {spatial}, channels) with channels_last, (batch, channels, {spatial}) "
             "with channels_first.",
             f"""(batch, {new}, {channels}) with channels_last (channels_first likewise);
                 per axis, new length = floor((L - d*(k-1) - 1) / s) + 1 for "valid",
                 ceil(L / s) otherwise.""".replace("                 ", ""),
             weights, example, rank=r)


_document(DepthwiseConv1D, ("DepthwiseConv1D(3, depth_multiplier=2)", (4, 10, 3), (4, 8, 6), 24))
_document(DepthwiseConv2D, ('DepthwiseConv2D(3, padding="same")', (2, 8, 8, 3), (2, 8, 8, 3), 30))
_document(SeparableConv1D, ('SeparableConv1D(6, 3, padding="causal", dilation_rate=2)', (4, 10, 3),
                            (4, 10, 6), 33))
_document(SeparableConv2D, ('SeparableConv2D(8, 3, padding="same")', (2, 16, 16, 3), (2, 16, 16, 8), 59))
document_arguments(BaseDepthwiseSeparableConv,
                   aliases={"filters": "base_filters", "layer_kwargs": "base_layer_kwargs"})
