"""Max and average pooling as differentiable ops (the pooling layers call :func:`pool`).

A pooling window reads k1*k2 input positions; the loop here runs over those positions,
each step touching every window at once through one strided slice, so the work is
vectorised NumPy. Padded positions never count: max pooling pads with -inf, average
pooling divides each window by the number of real inputs in it (as TensorFlow does).

The backward pass is a linear map from the windows back to the inputs, ``to_inputs``:
every window hands its gradient to the inputs it read, times a weight per position
(1 for the winner of a max window and 0 elsewhere; 1/count for an average window).
Its own gradient is the transposed map ``to_windows``, which reads each window's inputs
with the same weights (for average pooling that is average pooling again), and the
gradient of ``to_windows`` is ``to_inputs``: the pair closes, so pooling differentiates
any number of times. The weights are constants (which element wins is decided by the
forward pass), so the second derivative of a pool with respect to its input is 0.
"""
import itertools

import numpy as np

from ..tape import record
from ..tensor import Tensor
from .geometry import conv_output_length, conv_padding
from .math import as_tensor, dual
from .shapes import transpose


def _window_slices(offset, strides, out_shape):
    """Index of the input element at position ``offset`` of every window:
    ``x[:, o*s + offset, ..., :]`` for all outputs o, as one strided slice per axis."""
    return (slice(None),) + tuple(slice(d, d + s * (n - 1) + 1, s)
                                  for d, s, n in zip(offset, strides, out_shape)) + (slice(None),)


class _Windows:
    """Where the windows of one pooling call sit, and the weight of each position."""

    def __init__(self, windows, weights, padded_shape, widths, crop):
        self.windows = windows             # one strided slice per position in a window
        self.weights = weights             # one array per position, broadcast on windows
        self.padded_shape = padded_shape
        self.widths = widths
        self.crop = crop

    def _to_inputs_array(self, g):
        grad = np.zeros(self.padded_shape, dtype=g.dtype)
        for window, weight in zip(self.windows, self.weights):
            grad[window] += g * weight
        return grad[self.crop]

    def _to_windows_array(self, h):
        padded = np.pad(h, self.widths) if any(map(any, self.widths)) else h
        total = None
        for window, weight in zip(self.windows, self.weights):
            part = padded[window] * weight
            total = part if total is None else total + part
        return total.astype(h.dtype, copy=False)

    def to_inputs(self, g):
        """Windows' gradients (N, *out, C) -> inputs' gradient (N, *spatial, C)."""
        if not isinstance(g, Tensor):
            return self._to_inputs_array(g)
        return record("pool_to_inputs", (g,), self._to_inputs_array(g.data),
                      gradient=lambda gg, inputs, out: (self.to_windows(gg),))

    def to_windows(self, h):
        """The transpose: inputs (N, *spatial, C) -> windows (N, *out, C)."""
        if not isinstance(h, Tensor):
            return self._to_windows_array(h)
        return record("pool_to_windows", (h,), self._to_windows_array(h.data),
                      gradient=lambda gg, inputs, out: (self.to_inputs(gg),))


_transpose = dual(np.transpose, transpose)


def pool(x, pool_size, strides, padding="valid", mode="max", data_format="channels_last"):
    """Max or average pooling over the spatial axes of ``x`` (1 or 2 of them).

    x: Tensor (N, *spatial, C) for channels_last, (N, C, *spatial) for channels_first.
    pool_size, strides: tuples with one positive int per spatial axis.
    mode: ``"max"`` (gradient goes to the first maximal element of each window; a NaN in
        a window is its maximum, as for ``np.max``) or
        ``"average"`` (gradient shared equally by the real inputs of each window).

    Args:
        x (Tensor or array-like): (N, *spatial, C) for channels_last, (N, C, *spatial) for
            channels_first.
        pool_size (tuple): k, one positive int per spatial axis.
        strides (tuple): s, one positive int per spatial axis.
        padding (str, default "valid"): "valid" (windows inside the input) or "same" (out =
            ceil(L / s); windows may reach past the edges, where nothing is counted).
        mode (str, default "max"): "max" or "average", as above.
        data_format (str, default "channels_last"): or "channels_first".

    Returns:
        Tensor: (N, *out, C) (channels first for channels_first).

    Example:
        >>> ops.pool(np.arange(8.0).reshape(1, 8, 1), (2,), (2,)).numpy().ravel().tolist()
        [1.0, 3.0, 5.0, 7.0]
    """
    x = as_tensor(x)
    channels_first = data_format == "channels_first"
    rank = x.ndim
    to_last = (0,) + tuple(range(2, rank)) + (1,)       # channels_first -> channels_last
    to_first = (0, rank - 1) + tuple(range(1, rank - 1))
    data = np.transpose(x.data, to_last) if channels_first else x.data   # (N, *spatial, C)
    spatial = data.shape[1:-1]
    out_shape = tuple(conv_output_length(n, k, s, 1, padding)
                      for n, k, s in zip(spatial, pool_size, strides))
    # Only window offsets that reach a real input in some window matter: those below ``lo``
    # or from ``hi`` on read padding in every window, and padding never counts. Dropping
    # them keeps the work and the padded array within the input's size however large
    # pool_size is (a "same" window may be far larger than the input).
    pads, reach = [], []
    for n, k, s, o in zip(spatial, pool_size, strides, out_shape):
        before = conv_padding(n, k, s, 1, padding)[0]
        lo, hi = max(0, before - (o - 1) * s), min(k, before + n)
        before -= lo
        reach.append(hi - lo)
        pads.append((before, max(0, (o - 1) * s + (hi - lo) - before - n)))
    widths = [(0, 0)] + pads + [(0, 0)]
    windows = [_window_slices(offset, strides, out_shape)
               for offset in itertools.product(*(range(k) for k in reach))]

    if mode == "max":
        padded = np.pad(data, widths, constant_values=-np.inf) if any(map(any, pads)) \
            else data
        out = padded[windows[0]].copy()
        winner = np.zeros(out.shape, dtype=np.intp)          # which position holds the max
        for i, window in enumerate(windows[1:], start=1):
            candidate = padded[window]
            # strict: the first max wins; a NaN wins over any number and stays (as np.max)
            better = (candidate > out) | (np.isnan(candidate) & ~np.isnan(out))
            out = np.where(better, candidate, out)
            winner[better] = i
        weights = [(winner == i).astype(data.dtype) for i in range(len(windows))]
    else:
        padded = np.pad(data, widths) if any(map(any, pads)) else data
        # How many real (unpadded) inputs each window covers.
        ones = np.pad(np.ones((1,) + spatial + (1,), dtype=data.dtype), widths)
        total = np.zeros((data.shape[0],) + out_shape + (data.shape[-1],), dtype=data.dtype)
        count = np.zeros((1,) + out_shape + (1,), dtype=data.dtype)
        for window in windows:
            total += padded[window]
            count += ones[window]
        out = total / count
        weights = [1 / count] * len(windows)
    crop = (slice(None),) + tuple(slice(lo, lo + n) for (lo, _), n in zip(pads, spatial)) \
        + (slice(None),)
    plan = _Windows(windows, weights, padded.shape, widths, crop)

    def gradient(g, inputs, out):
        if channels_first:
            g = _transpose(g, to_last)
        grad = plan.to_inputs(g)
        return (_transpose(grad, to_first) if channels_first else grad,)

    out = out.astype(x.dtype, copy=False)
    return record(f"{mode}_pool", (x,), np.transpose(out, to_first) if channels_first else out,
                  gradient=gradient)
