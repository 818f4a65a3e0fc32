"""Pooling layers: windowed max / average (1D, 2D) and global max / average.

Shapes (channels_last; ``channels_first`` puts C right after N)::

    MaxPooling1D / AveragePooling1D     (N, L, C)    -> (N, L', C)
    MaxPooling2D / AveragePooling2D     (N, H, W, C) -> (N, H', W', C)
    GlobalMax/AveragePooling1D          (N, L, C)    -> (N, C)      (N, 1, C) with keepdims
    GlobalMax/AveragePooling2D          (N, H, W, C) -> (N, C)      (N, 1, 1, C) with keepdims

Output length of one axis (k = pool_size, s = strides, default s = k)::

    "valid":  (L - k) // s + 1
    "same":   ceil(L / s), padded with max((L'-1)*s + k - L, 0) positions split
              (total // 2 before, the rest after)

Padded positions never count: max pooling pads with -inf, average pooling divides each
window by the number of real inputs in it (as TensorFlow and Keras do).
"""
import numpy as np

from .. import ops
from ..ops import geometry
from ..ops.geometry import conv_output_length
from ..ops.pooling import pool
from .base import InputSpec, Layer
from .reference import document


# ----------------------------------------------------------------------------------------
# Windowed pooling layers
# ----------------------------------------------------------------------------------------

class _Pooling(Layer):
    """Shared by the four windowed pooling layers; subclasses fix ``rank`` and ``mode``."""

    rank = None
    mode = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        owner = type(self).__name__
        self.pool_size = geometry.int_tuple(pool_size, self.rank, "pool_size", owner)
        self.strides = self.pool_size if strides is None else \
            geometry.int_tuple(strides, self.rank, "strides", owner)
        value = padding.lower() if isinstance(padding, str) else padding
        if value not in ("valid", "same"):
            raise ValueError(f"{owner}: the `padding` argument must be one of "
                             f"{{'valid', 'same'}}. Received: padding={padding!r}")
        self.padding = value
        self.data_format = geometry.data_format(data_format, owner)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _spatial(self, shape):
        return shape[2:] if self.data_format == "channels_first" else shape[1:-1]

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects inputs of rank "
                             f"{self.rank + 2}, got shape {input_shape}")
        out = []
        for n, k, s in zip(self._spatial(input_shape), self.pool_size, self.strides):
            length = conv_output_length(n, k, s, 1, self.padding)
            if length is not None and length <= 0 and self.padding == "valid":
                raise ValueError(f"{type(self).__name__} '{self.name}': pool_size="
                                 f"{self.pool_size} is larger than the input (shape "
                                 f"{input_shape}) with padding='valid'; the output would be "
                                 f"empty. Use a smaller pool_size or padding='same'.")
            if length is not None and length <= 0:
                raise ValueError(f"{type(self).__name__} '{self.name}': the input (shape "
                                 f"{input_shape}) has a pooled axis of length 0, so the "
                                 f"output would be empty (padding={self.padding!r}).")
            out.append(length)
        if self.data_format == "channels_first":
            return input_shape[:2] + tuple(out)
        return (input_shape[0],) + tuple(out) + (input_shape[-1],)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)
        return pool(inputs, self.pool_size, self.strides, self.padding, self.mode,
                    self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides,
                       "padding": self.padding, "data_format": self.data_format})
        return config


class MaxPooling1D(_Pooling):
    """Max over windows of ``pool_size`` steps: (N, L, C) -> (N, L', C)."""
    rank, mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of ``pool_size`` steps: (N, L, C) -> (N, L', C)."""
    rank, mode = 1, "average"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling2D(_Pooling):
    """Max over ``pool_size`` windows: (N, H, W, C) -> (N, H', W', C)."""
    rank, mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over ``pool_size`` windows: (N, H, W, C) -> (N, H', W', C)."""
    rank, mode = 2, "average"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


# ----------------------------------------------------------------------------------------
# Global pooling: one value per channel
# ----------------------------------------------------------------------------------------

class _GlobalPooling(Layer):
    rank = None
    reduce = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.data_format = geometry.data_format(data_format, owner)
        if not isinstance(keepdims, (bool, np.bool_)):
            raise ValueError(f"{owner}: `keepdims` must be a boolean. Received: "
                             f"keepdims={keepdims!r}")
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self):
        start = 2 if self.data_format == "channels_first" else 1
        return tuple(range(start, start + self.rank))

    def call(self, inputs):
        if any(inputs.shape[a] == 0 for a in self._axes()):
            # the mean of nothing is as undefined as its max: both raise
            raise ValueError(f"{type(self).__name__} '{self.name}': cannot pool over an empty "
                             f"axis; the input shape {tuple(inputs.shape)} has length 0 on the "
                             f"pooled axes {self._axes()}.")
        return type(self).reduce(inputs, axis=self._axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects inputs of rank "
                             f"{self.rank + 2}, got shape {input_shape}")
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else s for i, s in enumerate(input_shape))
        return tuple(s for i, s in enumerate(input_shape) if i not in axes)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: (N, L, C) -> (N, C)."""
    rank, reduce = 1, staticmethod(ops.mean)


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (N, H, W, C) -> (N, C)."""
    rank, reduce = 2, staticmethod(ops.mean)


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps: (N, L, C) -> (N, C)."""
    rank, reduce = 1, staticmethod(ops.max)


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width: (N, H, W, C) -> (N, C)."""
    rank, reduce = 2, staticmethod(ops.max)


# -- the reference help() shows (assembled by layers/reference.py) -------------------------
for _cls, _example in ((MaxPooling1D, ("MaxPooling1D(2)", (4, 10, 3), (4, 5, 3), 0)),
                       (AveragePooling1D, ('AveragePooling1D(3, strides=1, padding="same")',
                                           (4, 10, 3), (4, 10, 3), 0)),
                       (MaxPooling2D, ("MaxPooling2D(2)", (2, 8, 8, 3), (2, 4, 4, 3), 0)),
                       (AveragePooling2D, ("AveragePooling2D((2, 3))", (2, 8, 9, 3), (2, 4, 3, 3), 0))):
    _what = "maximum" if _cls.mode == "max" else "mean"
    _spatial, _new = ("steps", "new_steps") if _cls.rank == 1 else ("rows, cols", "new_rows, new_cols")
    _window = "x[n, o*s + j, c] for j < k" if _cls.rank == 1 else \
        "x[n, oh*sh + i, ow*sw + j, c] for i < kh, j < kw"
    document(
        _cls,
        f"{_cls.rank}D {_what} pooling: the {_what} of each channel over windows of "
        "``pool_size``, channel by channel; no weights.",
        f"y[n, {'o' if _cls.rank == 1 else 'oh, ow'}, c] = {_what} of {_window}\n"
        "(only real input positions count: the zeros of \"same\" padding are never part of a "
        f"{_what})",
        f"(batch, {_spatial}, channels) with channels_last, (batch, channels, {_spatial}) "
        "with channels_first.",
        f"(batch, {_new}, channels); per axis, new length = floor((L - k) / s) + 1 for "
        '"valid", ceil(L / s) for "same".',
        "none.",
        _example, rank=_cls.rank, aliases={"strides": "pool_strides", "padding": "pool_padding"})
for _cls in (GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D):
    _what = "mean" if "Average" in _cls.__name__ else "maximum"
    _spatial = "steps" if _cls.rank == 1 else "rows, cols"
    _in = (4, 10, 3) if _cls.rank == 1 else (2, 8, 8, 3)
    document(
        _cls, f"Global {_cls.rank}D {_what} pooling: one value per channel, the {_what} over "
              "every spatial position.",
        f"y[n, c] = {_what} of x[n, ..., c] over the spatial axes",
        f"(batch, {_spatial}, channels) with channels_last, (batch, channels, {_spatial}) "
        "with channels_first.",
        "(batch, channels); with keepdims=True the spatial axes stay, with length 1.",
        "none.", (f"{_cls.__name__}()", _in, (_in[0], 3), 0), rank=_cls.rank)
