"""Layers that pad, crop or repeat along the spatial axes: ``ZeroPadding1D/2D``,
``Cropping1D/2D``, ``UpSampling1D/2D`` (nearest neighbour).

Shapes (channels_last; with ``data_format="channels_first"`` the channel axis comes right
after the batch axis instead, and the same spatial axes are changed)::

    ZeroPadding1D(padding=(a, b))           (N, L, C)    -> (N, a + L + b, C)
    ZeroPadding2D(((t, b), (l, r)))         (N, H, W, C) -> (N, t + H + b, l + W + r, C)
    Cropping1D(cropping=(a, b))             (N, L, C)    -> (N, L - a - b, C)
    Cropping2D(((t, b), (l, r)))            (N, H, W, C) -> (N, H - t - b, W - l - r, C)
    UpSampling1D(size=s)                    (N, L, C)    -> (N, s L, C)   each step repeated
    UpSampling2D(size=(sh, sw))             (N, H, W, C) -> (N, sh H, sw W, C)

MobileNetV2 pads with ``ZeroPadding2D`` before each strided depthwise convolution (then
runs it with ``padding="valid"``), so its windows line up as in the original network.

All three are built from differentiable ops (``ops.pad``, ``ops.getitem``, ``ops.reshape``
and a broadcasting ``ops.multiply``), so their gradients are those ops' gradients:
padding's is a crop, cropping's is a zero pad, and upsampling's sums each block of
``s`` copies back onto the one value they came from.
"""
import math
import numbers

import numpy as np

from .. import ops
from .base import InputSpec, Layer
from .core import standardize_data_format
from .reference import document


def _int_tuple(value, n, argument, owner, allow_zero):
    """``value`` as a tuple of ``n`` ints (an int is repeated), each >= 0 (or > 0)."""
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)
    items = (value,) * n if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    lowest = 0 if allow_zero else 1
    if items is None or len(items) != n or not all(is_int(v) and v >= lowest for v in items):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{owner}: the `{argument}` argument must be a tuple of {n} "
                         f"{kind} integers (or one such integer). Received: "
                         f"{argument}={value!r}")
    return tuple(int(v) for v in items)


def _pairs_2d(value, argument, owner):
    """An int, a pair (symmetric height, width) or a pair of pairs ((top, bottom),
    (left, right)) -> ((top, bottom), (left, right))."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = _int_tuple(value, 2, argument, owner, allow_zero=True)
        return (pair, pair)
    if not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{owner}: `{argument}` should be an int, a tuple of 2 ints "
                         f"(symmetric height, symmetric width) or a tuple of 2 tuples of 2 "
                         f"ints ((top, bottom), (left, right)). Received: {argument}={value!r}")
    return (_int_tuple(value[0], 2, f"{argument}[0]", owner, allow_zero=True),
            _int_tuple(value[1], 2, f"{argument}[1]", owner, allow_zero=True))


def _spatial_axes(data_format, rank):
    """Positions of the ``rank`` spatial axes in a batched input."""
    first = 2 if data_format == "channels_first" else 1
    return tuple(range(first, first + rank))


class _Spatial(Layer):
    """Shared by the layers here: the rank, ``data_format`` and the output shape rule."""

    rank = 1

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self).__name__)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _new_size(self, index, size):
        """The output size of spatial axis ``index`` for an input size ``size``."""
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects inputs of rank "
                             f"{self.rank + 2}, got shape {tuple(input_shape)}")
        for index, axis in enumerate(_spatial_axes(self.data_format, self.rank)):
            shape[axis] = None if shape[axis] is None else self._new_size(index, shape[axis])
        return tuple(shape)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)          # checks sizes before any call
        self.built = True

    def call(self, inputs):
        out = self.compute_output_shape(inputs.shape)
        argument = "padding" if isinstance(self, _ZeroPadding) else "size"
        nbytes = inputs.dtype.itemsize * math.prod(out)
        try:
            if nbytes >= 2**63:                  # NumPy: "Maximum allowed dimension exceeded"
                raise MemoryError(f"{nbytes} bytes")
            return self._apply(inputs, _spatial_axes(self.data_format, self.rank))
        except (MemoryError, ValueError) as e:
            if nbytes < 2**30:                   # not about the size: the sizes were checked
                raise
            raise ValueError(f"{type(self).__name__} '{self.name}': `{argument}`="
                             f"{getattr(self, argument)} makes an output of shape {out} "
                             f"({nbytes} bytes), too large to allocate ({e}).") from None

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


# ----------------------------------------------------------------------------------------
class _ZeroPadding(_Spatial):
    def _new_size(self, index, size):
        return size + sum(self.padding[index])

    def _apply(self, x, axes):
        widths = [(0, 0)] * x.ndim
        for axis, pair in zip(axes, self.padding):
            widths[axis] = pair
        return ops.pad(x, widths)

    def get_config(self):
        config = super().get_config()
        config["padding"] = self.padding
        return config


class ZeroPadding1D(_ZeroPadding):
    """Add zeros at the start and end of the steps axis.

    padding: int (both sides) or ``(left, right)``; default 1.
    data_format: ``"channels_last"`` (N, L, C) or ``"channels_first"`` (N, C, L).
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = (_int_tuple(padding, 2, "padding", "ZeroPadding1D", allow_zero=True),)

    def get_config(self):
        config = super().get_config()
        config["padding"] = self.padding[0]
        return config


class ZeroPadding2D(_ZeroPadding):
    """Add rows and columns of zeros around each image.

    padding: int (all sides), ``(h, w)`` (symmetric) or ``((top, bottom), (left,
    right))``; default ``(1, 1)``.
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs_2d(padding, "padding", "ZeroPadding2D")


# ----------------------------------------------------------------------------------------
class _Cropping(_Spatial):
    def _new_size(self, index, size):
        kept = size - sum(self.cropping[index])
        if kept <= 0:
            raise ValueError(f"{type(self).__name__} '{self.name}': `cropping` "
                             f"{self.cropping[index]} must remove fewer steps than the input "
                             f"has on that axis ({size}). Received: cropping={self.cropping}")
        return kept

    def _apply(self, x, axes):
        index = [slice(None)] * x.ndim
        for axis, (start, end) in zip(axes, self.cropping):
            index[axis] = slice(start, x.shape[axis] - end)
        return ops.getitem(x, tuple(index))


class Cropping1D(_Cropping):
    """Remove steps from the start and end of a sequence (N, L, C).

    cropping: int (both ends) or ``(start, end)``; default ``(1, 1)``.
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__("channels_last", **kwargs)
        self.cropping = (_int_tuple(cropping, 2, "cropping", "Cropping1D", allow_zero=True),)

    def get_config(self):
        config = super().get_config()
        config.pop("data_format")
        config["cropping"] = self.cropping[0]
        return config


class Cropping2D(_Cropping):
    """Remove rows and columns from the borders of each image.

    cropping: int, ``(h, w)`` (symmetric) or ``((top, bottom), (left, right))``;
    default ``((0, 0), (0, 0))``.
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs_2d(cropping, "cropping", "Cropping2D")

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping
        return config


# ----------------------------------------------------------------------------------------
def repeat_nearest(x, sizes, axes):
    """Repeat every element ``sizes[i]`` times along ``axes[i]`` (``np.repeat``), built
    from differentiable ops: insert an axis of length 1 after each repeated axis,
    broadcast it to ``size`` by multiplying with ones, merge the pair of axes back.

    Args:
        x (Tensor): the input.
        sizes (tuple of int): the repeats, one per axis in ``axes``.
        axes (tuple of int): the axes repeated.

    Returns:
        Tensor
    """
    shape, ones_shape, out_shape = [], [], []
    for axis, n in enumerate(x.shape):
        shape.append(n)
        ones_shape.append(1)
        out_shape.append(n)
        if axis in axes:
            size = sizes[axes.index(axis)]
            shape.append(1)
            ones_shape.append(size)
            out_shape[-1] = n * size
    expanded = ops.reshape(x, tuple(shape))
    stretched = ops.multiply(expanded, np.ones(ones_shape, dtype=x.dtype))
    return ops.reshape(stretched, tuple(out_shape))


class _UpSampling(_Spatial):
    def _new_size(self, index, size):
        return size * self.size[index]

    def _apply(self, x, axes):
        return repeat_nearest(x, self.size, axes)


class UpSampling1D(_UpSampling):
    """Repeat each step ``size`` times along the steps axis: (N, L, C) -> (N, size*L, C).

    size: positive int, default 2.
    """

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__("channels_last", **kwargs)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"UpSampling1D: expected an integer value for `size`. Received: "
                            f"size={size!r} (of type {type(size).__name__})")
        if size <= 0:
            raise ValueError(f"UpSampling1D: argument `size` should be a positive integer. "
                             f"Received: size={size}")
        self.size = (int(size),)

    def get_config(self):
        config = super().get_config()
        config.pop("data_format")
        config["size"] = self.size[0]
        return config


class UpSampling2D(_UpSampling):
    """Repeat rows ``size[0]`` times and columns ``size[1]`` times (nearest neighbour).

    size: int or ``(rows, cols)``, positive; default ``(2, 2)``.
    interpolation: ``"nearest"`` (the only method minigrad implements).
    """

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = _int_tuple(size, 2, "size", "UpSampling2D", allow_zero=False)
        if not isinstance(interpolation, str) or interpolation.lower() != "nearest":
            raise ValueError(f"UpSampling2D: minigrad implements only "
                             f"interpolation='nearest'. Received: "
                             f"interpolation={interpolation!r}")
        self.interpolation = "nearest"

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "interpolation": self.interpolation})
        return config


# -- the reference help() shows (assembled by layers/reference.py) -------------------------
_SHAPES_1D = "(batch, steps, channels)."
_SHAPES_2D = ("(batch, rows, cols, channels) with channels_last, (batch, channels, rows, cols) "
              "with channels_first.")
_NO_WEIGHTS = "none."
document(ZeroPadding1D, "Adds zeros at the start and end of the steps axis.",
         "y[n, a + t, c] = x[n, t, c];   y = 0 on the a steps before and the b steps after\n"
         "(padding = (a, b); the gradient is the crop of the incoming gradient)",
         _SHAPES_1D, "(batch, a + steps + b, channels).", _NO_WEIGHTS,
         ("ZeroPadding1D((1, 2))", (2, 5, 3), (2, 8, 3), 0),
         aliases={"padding": "zero_padding_1d", "data_format": "spatial_data_format"})
document(ZeroPadding2D, "Adds rows and columns of zeros around each image (MobileNetV2 pads so "
                        "before each strided depthwise convolution).",
         "y[n, t + i, l + j, c] = x[n, i, j, c];   y = 0 in the border\n"
         "(padding = ((t, b), (l, r)); the gradient is the crop of the incoming gradient)",
         _SHAPES_2D, "(batch, t + rows + b, l + cols + r, channels) with channels_last.",
         _NO_WEIGHTS, ("ZeroPadding2D(((0, 1), (0, 1)))", (2, 8, 8, 3), (2, 9, 9, 3), 0),
         aliases={"padding": "zero_padding_2d", "data_format": "spatial_data_format"})
document(Cropping1D, "Removes steps from the start and end of a sequence.",
         "y[n, t, c] = x[n, a + t, c]   for t < steps - a - b\n"
         "(cropping = (a, b); the gradient is the incoming gradient padded with zeros)",
         _SHAPES_1D, "(batch, steps - a - b, channels); at least one step must remain.",
         _NO_WEIGHTS, ("Cropping1D((1, 2))", (2, 10, 3), (2, 7, 3), 0),
         aliases={"cropping": "cropping_1d"})
document(Cropping2D, "Removes rows and columns from the borders of each image.",
         "y[n, i, j, c] = x[n, t + i, l + j, c]\n"
         "(cropping = ((t, b), (l, r)); the gradient is the incoming gradient padded with zeros)",
         _SHAPES_2D, "(batch, rows - t - b, cols - l - r, channels) with channels_last.",
         _NO_WEIGHTS, ("Cropping2D(((1, 1), (2, 0)))", (2, 8, 8, 3), (2, 6, 6, 3), 0),
         aliases={"cropping": "cropping_2d", "data_format": "spatial_data_format"})
document(UpSampling1D, "Repeats each step ``size`` times along the steps axis (nearest "
                       "neighbour).",
         "y[n, t, c] = x[n, t // size, c]\n(the gradient sums each block of ``size`` copies "
         "back onto the step they came from)",
         _SHAPES_1D, "(batch, size * steps, channels).", _NO_WEIGHTS,
         ("UpSampling1D(3)", (2, 4, 3), (2, 12, 3), 0), aliases={"size": "size_1d"})
document(UpSampling2D, "Repeats each row ``sh`` times and each column ``sw`` times (nearest "
                       "neighbour).",
         "y[n, i, j, c] = x[n, i // sh, j // sw, c]\n(size = (sh, sw); the gradient sums each "
         "sh x sw block back onto the pixel it came from)",
         _SHAPES_2D, "(batch, sh * rows, sw * cols, channels) with channels_last.", _NO_WEIGHTS,
         ("UpSampling2D((2, 3))", (2, 4, 4, 3), (2, 8, 12, 3), 0),
         aliases={"size": "size_2d", "data_format": "spatial_data_format"})
