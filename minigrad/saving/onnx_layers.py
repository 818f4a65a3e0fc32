"""How each layer becomes ONNX operators, for ``minigrad/saving/onnx_export.py`` (which
builds the graph and writes the file): one emitter per layer class, looked up by class name
in ``EMITTERS`` (merge layers: :func:`emit_merge`).

* ``DepthwiseConv*``: one ``Conv`` with ``group=C``. Its weight is ``(C*M, 1, k...)``:
  output channel ``c*M + m`` is input channel ``c`` through filter ``m``, which is exactly
  how the depthwise kernel ``(k..., C, M)`` flattens its last two axes (Keras's order).
* ``SeparableConv*``: that depthwise ``Conv`` (no bias), then the pointwise kernel
  ``(1..., C*M, F)`` as a 1x1 ``Conv`` carrying the bias.
* ``Conv*``: ``Conv`` with ``group=groups``.
* Padding is always explicit ``pads`` (``[begin..., end...]``), never ``auto_pad``
  (onnxruntime rejects ``auto_pad`` together with dilation): ``"same"`` puts the odd pad at
  the end as Keras does, ``"causal"`` is ``d*(k-1)`` zeros at the start only.
* Convolutions and pooling work channels-first in ONNX; on channels_last data each is
  wrapped in a pair of ``Transpose`` nodes (runtimes fuse the pairs away).
* ``BatchNormalization`` (inference statistics), ``MaxPool``/``AveragePool`` (padding not
  counted, as in Keras), ``ReduceMean``/``ReduceMax`` for global pooling, ``MatMul`` +
  ``Add`` for ``Dense``, ``Flatten``, ``Reshape``, ``Pad`` for zero padding, ``Slice`` for
  cropping, ``Resize`` (nearest) for upsampling, ``LayerNormalization``, elementwise ops
  for activations and merge layers.

A layer or activation with no ONNX counterpart here is refused with a ``ValueError``
naming it.
"""
import math

import numpy as np

__all__ = ["emit_layer", "emit_merge"]


# -- layout and padding ----------------------------------------------------------
def _spatial(shape, fmt):
    return list(shape[2:]) if fmt == "channels_first" else list(shape[1:-1])


def _to_first(g, x, rank, fmt, name):
    if fmt == "channels_first":
        return x
    return g.op("Transpose", [x], f"{name}/to_channels_first",
                perm=[0, rank + 1] + list(range(1, rank + 1)))


def _to_last(g, x, rank, fmt, name):
    if fmt == "channels_first":
        return x
    return g.op("Transpose", [x], f"{name}/to_channels_last",
                perm=[0] + list(range(2, rank + 2)) + [1])


def _pads(padding, sizes, kernel, strides, dilation, name):
    begin, end = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilation):
        span = (k - 1) * d + 1
        if padding == "valid":
            lo = hi = 0
        elif padding == "causal":
            lo, hi = span - 1, 0
        else:                                              # same: odd pad at the end
            if size is None and s != 1:
                raise ValueError(f"Cannot export layer '{name}' to ONNX: padding='same' "
                                 f"with strides={s} needs a fixed input size; this axis is "
                                 "unknown (None). Give the model a full input shape.")
            total = span - 1 if size is None else \
                max((math.ceil(size / s) - 1) * s + span - size, 0)
            lo, hi = total // 2, total - total // 2
        begin.append(lo)
        end.append(hi)
    return begin + end


# -- activations -------------------------------------------------------------------
def _activation(g, x, act, name):
    from .. import activations
    key = activations.serialize(act) if callable(act) or act is None else act
    base = f"{name}/{key}"
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "elu": "Elu",
              "selu": "Selu", "softplus": "Softplus", "softsign": "Softsign",
              "exponential": "Exp"}
    if key in ("linear", None):
        return x
    if key in simple:
        return g.op(simple[key], [x], base)
    if key == "softmax":
        return g.op("Softmax", [x], base, axis=-1)
    if key == "log_softmax":
        return g.op("LogSoftmax", [x], base, axis=-1)
    if key == "relu6":
        return g.op("Clip", [x, g.const(0.0, f"{base}/min"), g.const(6.0, f"{base}/max")],
                    base)
    if key == "leaky_relu":
        return g.op("LeakyRelu", [x], base, alpha=0.2)
    if key == "hard_sigmoid":
        return g.op("HardSigmoid", [x], base, alpha=1.0 / 6.0, beta=0.5)
    if key in ("swish", "silu"):
        return g.op("Mul", [x, g.op("Sigmoid", [x], f"{base}/sigmoid")], base)
    if key == "mish":
        soft = g.op("Softplus", [x], f"{base}/softplus")
        return g.op("Mul", [x, g.op("Tanh", [soft], f"{base}/tanh")], base)
    if key == "gelu":                                    # exact: x/2 (1 + erf(x/sqrt 2))
        erf = g.op("Erf", [g.op("Mul", [x, g.const(1 / math.sqrt(2), f"{base}/c")],
                                f"{base}/scale")], f"{base}/erf")
        plus = g.op("Add", [erf, g.const(1.0, f"{base}/one")], f"{base}/plus_one")
        half = g.op("Mul", [x, g.const(0.5, f"{base}/half")], f"{base}/half_x")
        return g.op("Mul", [half, plus], base)
    raise ValueError(f"Cannot export layer '{name}' to ONNX: activation {key!r} has no ONNX "
                     "translation here.")


# -- layers --------------------------------------------------------------------------
def _kernel_geometry(layer, kernel_spatial):
    rank = len(kernel_spatial)
    return (list(kernel_spatial), list(layer.strides)[:rank] if layer.strides else [1] * rank,
            list(layer.dilation_rate)[:rank])


def _depthwise_conv(g, x, layer, shape, bias_here):
    kernel = np.asarray(layer.depthwise_kernel.numpy())          # (k..., C, M)
    rank = kernel.ndim - 2
    channels, mult = kernel.shape[-2:]
    weight = kernel.reshape(kernel.shape[:rank] + (channels * mult,))   # last axis c*M+m
    weight = np.moveaxis(weight, -1, 0)[:, None]                  # (C*M, 1, k...)
    k, s, d = _kernel_geometry(layer, kernel.shape[:rank])
    pads = _pads(layer.padding, _spatial(shape, layer.data_format), k, s, d, layer.name)
    inputs = [x, g.const(weight, f"{layer.name}/depthwise_kernel")]
    if bias_here and layer.use_bias:
        inputs.append(g.const(layer.bias.numpy(), f"{layer.name}/bias"))
    return g.op("Conv", inputs, f"{layer.name}/depthwise", group=int(channels),
                kernel_shape=k, strides=s, dilations=d, pads=pads)


def _conv_layer(g, x, layer, shape):
    name, kind = layer.name, type(layer).__name__
    rank = 2 if kind.endswith("2D") else 1
    x = _to_first(g, x, rank, layer.data_format, name)
    if kind.startswith("Depthwise"):
        y = _depthwise_conv(g, x, layer, shape, bias_here=True)
    elif kind.startswith("Separable"):
        y = _depthwise_conv(g, x, layer, shape, bias_here=False)
        pw = np.asarray(layer.pointwise_kernel.numpy())           # (1..., C*M, F)
        weight = np.moveaxis(pw.reshape(pw.shape[-2:]), -1, 0).reshape(
            (pw.shape[-1], pw.shape[-2]) + (1,) * rank)
        inputs = [y, g.const(weight, f"{name}/pointwise_kernel")]
        if layer.use_bias:
            inputs.append(g.const(layer.bias.numpy(), f"{name}/bias"))
        y = g.op("Conv", inputs, f"{name}/pointwise", kernel_shape=[1] * rank)
    else:
        kernel = np.asarray(layer.kernel.numpy())                  # (k..., C/groups, F)
        weight = np.moveaxis(kernel, [-1, -2], [0, 1])
        k, s, d = _kernel_geometry(layer, kernel.shape[:rank])
        pads = _pads(layer.padding, _spatial(shape, layer.data_format), k, s, d, name)
        inputs = [x, g.const(weight, f"{name}/kernel")]
        if layer.use_bias:
            inputs.append(g.const(layer.bias.numpy(), f"{name}/bias"))
        y = g.op("Conv", inputs, f"{name}/conv", group=int(getattr(layer, "groups", 1)),
                 kernel_shape=k, strides=s, dilations=d, pads=pads)
    y = _to_last(g, y, rank, layer.data_format, name)
    return _activation(g, y, layer.activation, name)


def _pooling(g, x, layer, shape):
    kind, name = type(layer).__name__, layer.name
    rank = 2 if kind.endswith("2D") else 1
    fmt = layer.data_format
    if kind.startswith("Global"):
        axes = list(range(2, rank + 2)) if fmt == "channels_first" else \
            list(range(1, rank + 1))
        op = "ReduceMean" if "Average" in kind else "ReduceMax"
        return g.op(op, [x], name, axes=axes, keepdims=int(layer.keepdims))
    k, s = list(layer.pool_size), list(layer.strides)
    pads = _pads(layer.padding, _spatial(shape, fmt), k, s, [1] * rank, name)
    x = _to_first(g, x, rank, fmt, name)
    if kind.startswith("Max"):
        y = g.op("MaxPool", [x], name, kernel_shape=k, strides=s, pads=pads)
    else:
        y = g.op("AveragePool", [x], name, kernel_shape=k, strides=s, pads=pads,
                 count_include_pad=0)
    return _to_last(g, y, rank, fmt, name)


def _batchnorm(g, x, layer, shape):
    name, ndim = layer.name, len(shape)
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
    axis %= ndim
    ws = {w.name: w.numpy() for w in layer.weights}
    channels = shape[axis]
    gamma = ws.get("gamma", np.ones(channels))
    beta = ws.get("beta", np.zeros(channels))
    inputs = [g.const(gamma, f"{name}/gamma"), g.const(beta, f"{name}/beta"),
              g.const(ws["moving_mean"], f"{name}/moving_mean"),
              g.const(ws["moving_variance"], f"{name}/moving_variance")]
    if axis != 1:
        perm = [0, axis] + [i for i in range(1, ndim) if i != axis]
        x = g.op("Transpose", [x], f"{name}/to_channels_first", perm=perm)
    y = g.op("BatchNormalization", [x] + inputs, name, epsilon=float(layer.epsilon))
    if axis != 1:
        y = g.op("Transpose", [y], f"{name}/to_channels_last",
                 perm=[int(i) for i in np.argsort(perm)])
    return y


def _dense(g, x, layer, shape):
    y = g.op("MatMul", [x, g.const(layer.kernel.numpy(), f"{layer.name}/kernel")],
             f"{layer.name}/matmul")
    if layer.use_bias:
        y = g.op("Add", [y, g.const(layer.bias.numpy(), f"{layer.name}/bias")],
                 f"{layer.name}/bias_add")
    return _activation(g, y, layer.activation, layer.name)


def _flatten(g, x, layer, shape):
    if getattr(layer, "data_format", "channels_last") == "channels_first" and len(shape) > 2:
        x = g.op("Transpose", [x], f"{layer.name}/to_channels_last",
                 perm=[0] + list(range(2, len(shape))) + [1])
    return g.op("Flatten", [x], layer.name, axis=1)


def _reshape(g, x, layer, shape):
    target = g.const([0] + list(layer.target_shape), f"{layer.name}/shape", dtype=np.int64)
    return g.op("Reshape", [x, target], layer.name)


def _zero_padding(g, x, layer, shape):
    ndim = len(shape)
    pad = np.asarray(layer.padding).reshape(-1, 2)            # (begin, end) per spatial axis
    first = getattr(layer, "data_format", "channels_last") == "channels_first"
    axes = list(range(2, ndim)) if first else list(range(1, ndim - 1))
    begin, end = [0] * ndim, [0] * ndim
    for axis, (lo, hi) in zip(axes, pad):
        begin[axis], end[axis] = int(lo), int(hi)
    pads = g.const(begin + end, f"{layer.name}/pads", dtype=np.int64)
    return g.op("Pad", [x, pads], layer.name, mode="constant")


def _spatial_axes(layer, ndim):
    first = getattr(layer, "data_format", "channels_last") == "channels_first"
    return list(range(2, ndim)) if first else list(range(1, ndim - 1))


def _cropping(g, x, layer, shape):
    axes = _spatial_axes(layer, len(shape))
    crops = np.asarray(layer.cropping).reshape(-1, 2)
    big = np.iinfo(np.int64).max
    starts = [int(lo) for lo, _ in crops]
    ends = [-int(hi) if hi else big for _, hi in crops]
    return g.op("Slice", [x, g.const(starts, f"{layer.name}/starts", dtype=np.int64),
                          g.const(ends, f"{layer.name}/ends", dtype=np.int64),
                          g.const(axes, f"{layer.name}/axes", dtype=np.int64)], layer.name)


def _upsampling(g, x, layer, shape):
    if getattr(layer, "interpolation", "nearest") != "nearest":
        raise ValueError(f"Cannot export layer '{layer.name}' to ONNX: only nearest "
                         "upsampling has an ONNX translation here.")
    scales = [1.0] * len(shape)
    for axis, size in zip(_spatial_axes(layer, len(shape)), layer.size):
        scales[axis] = float(size)
    return g.op("Resize", [x, "", g.const(scales, f"{layer.name}/scales", dtype=np.float32)],
                layer.name, mode="nearest", coordinate_transformation_mode="asymmetric",
                nearest_mode="floor")


def _layer_norm(g, x, layer, shape):
    ndim = len(shape)
    axes = sorted(a % ndim for a in (layer.axis if isinstance(layer.axis, list)
                                     else [layer.axis]))
    if getattr(layer, "rms_scaling", False) or axes != list(range(axes[0], ndim)):
        raise ValueError(f"Cannot export layer '{layer.name}' to ONNX: LayerNormalization "
                         "over other than the last axes (or rms_scaling) has no ONNX "
                         "translation here.")
    ws = {w.name: w.numpy() for w in layer.weights}
    norm_shape = [shape[a] for a in axes]
    gamma = ws.get("gamma", np.ones(norm_shape))
    beta = ws.get("beta", np.zeros(norm_shape))
    return g.op("LayerNormalization", [x, g.const(gamma, f"{layer.name}/gamma"),
                                       g.const(beta, f"{layer.name}/beta")], layer.name,
                axis=int(axes[0]), epsilon=float(layer.epsilon))


def _relu_layer(g, x, layer, shape):
    if layer.negative_slope != 0 or layer.threshold != 0:
        raise ValueError(f"Cannot export layer '{layer.name}' to ONNX: ReLU with "
                         "negative_slope or threshold has no ONNX translation here.")
    y = g.op("Relu", [x], layer.name)
    if layer.max_value is not None:
        y = g.op("Clip", [y, g.const(0.0, f"{layer.name}/min"),
                          g.const(float(layer.max_value), f"{layer.name}/max")],
                 f"{layer.name}/clip")
    return y


def _rescaling(g, x, layer, shape):
    y = g.op("Mul", [x, g.const(layer.scale, f"{layer.name}/scale")], layer.name)
    return g.op("Add", [y, g.const(layer.offset, f"{layer.name}/offset")],
                f"{layer.name}/offset_add")


def _identity(g, x, layer, shape):
    return g.op("Identity", [x], layer.name)


EMITTERS = {
    **{k: _conv_layer for k in ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
                                "SeparableConv2D", "Conv1D", "Conv2D")},
    **{k: _pooling for k in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
                             "AveragePooling2D", "GlobalAveragePooling1D",
                             "GlobalAveragePooling2D", "GlobalMaxPooling1D",
                             "GlobalMaxPooling2D")},
    **{k: _identity for k in ("Dropout", "SpatialDropout1D", "SpatialDropout2D",
                              "ActivityRegularization", "Identity")},
    "BatchNormalization": _batchnorm, "Dense": _dense, "Flatten": _flatten,
    "Reshape": _reshape, "ZeroPadding1D": _zero_padding, "ZeroPadding2D": _zero_padding,
    "ReLU": _relu_layer, "Rescaling": _rescaling, "Cropping1D": _cropping,
    "Cropping2D": _cropping, "UpSampling1D": _upsampling, "UpSampling2D": _upsampling,
    "LayerNormalization": _layer_norm,
    "Activation": lambda g, x, layer, shape: _activation(g, x, layer.activation, layer.name),
    "LeakyReLU": lambda g, x, layer, shape: g.op("LeakyRelu", [x], layer.name,
                                                 alpha=float(layer.negative_slope)),
    "Softmax": lambda g, x, layer, shape: g.op("Softmax", [x], layer.name,
                                               axis=int(layer.axis)),
}
MERGE_OPS = {"Maximum": "Max", "Minimum": "Min"}      # variadic in ONNX


def emit_layer(g, layer, x, shape):
    """ONNX nodes for ``layer`` applied to tensor ``x`` of ``shape``; returns the output.

    Args:
        g (_Graph): the ONNX graph being built.
        layer (Layer): the layer.
        x (str): the input tensor's name in the graph.
        shape (tuple): its shape.

    Returns:
        str: the output tensor's name.
    """
    from ..models import Sequential
    if isinstance(layer, Sequential):
        for sub in layer.layers:
            x = emit_layer(g, sub, x, shape)
            shape = tuple(sub.compute_output_shape(shape))
        return x
    emitter = EMITTERS.get(type(layer).__name__)
    if emitter is None:
        raise ValueError(f"Cannot export layer '{layer.name}' to ONNX: layers of class "
                         f"{type(layer).__name__} have no ONNX translation here.")
    return emitter(g, x, layer, shape)


def emit_merge(g, layer, xs):
    """ONNX nodes for a merge layer over tensors ``xs``.

    Args:
        g (_Graph): the ONNX graph being built.
        layer (Merge): the merge layer.
        xs (list of str): the input tensors' names.

    Returns:
        str: the output tensor's name.
    """
    kind, name = type(layer).__name__, layer.name
    if kind in MERGE_OPS:
        return g.op(MERGE_OPS[kind], xs, name)
    if kind in ("Add", "Multiply"):                  # binary in ONNX: chain them
        y = xs[0]
        for i, other in enumerate(xs[1:]):
            last = i == len(xs) - 2
            y = g.op("Add" if kind == "Add" else "Mul", [y, other],
                     name if last else f"{name}/{i}")
        return y
    if kind == "Subtract":
        return g.op("Sub", xs, name)
    if kind == "Average":
        total = g.op("Sum", xs, f"{name}/sum")
        return g.op("Div", [total, g.const(float(len(xs)), f"{name}/count")], name)
    if kind == "Concatenate":
        return g.op("Concat", xs, name, axis=int(layer.axis))
    raise ValueError(f"Cannot export layer '{name}' to ONNX: {kind} has no ONNX "
                     "translation here.")
