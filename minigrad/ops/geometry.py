"""Convolution and pooling geometry: the one place that checks and computes it.

Every convolution and pooling argument passes through here once, at the op or layer
boundary, and leaves as plain Python ints in a canonical form::

    strides=2            -> (2,) or (2, 2)       int_tuple: one positive int per spatial axis
    data_format=None     -> "channels_last"      data_format: from mg.config when None
    padding="same"       -> ((0, 1),)            conv_padding: (before, after) per axis
    padding=((2, 1),)    -> ((2, 1),)            explicit_pads: explicit pairs, checked

Output length of one spatial axis of length ``L`` (kernel ``k``, stride ``s``, dilation
``d``, effective kernel ``ek = d*(k-1) + 1``, pads ``(b, a)``)::

    out = (L + b + a - ek) // s + 1         valid: b = a = 0 -> (L - ek) // s + 1
                                            same / causal    -> ceil(L / s)

Bounds. Every stride, dilation, kernel or pool size, dilated kernel span ``ek`` and pad
must lie in ``[minimum, MAX_GEOMETRY]``, ``MAX_GEOMETRY = 2**31 - 1``: far below the
compiled kernels' index type (``Py_ssize_t``, up to 2**63 - 1), so every index they form
provably fits. An input axis that exists in memory has ``L < 2**61`` (NumPy arrays hold
fewer than 2**63 bytes), so the padded length ``Lp = L + b + a < 2**61 + 2**32``. A valid
geometry has ``(out-1)*s + (k-1)*d <= Lp - 1``, so every input position an output reads,
``o*s + j*d - b``, lies in ``[-b, Lp)``; sums of two such terms stay below 2**63. The
compiled wrappers (``_kernels/depthwise.pyx``) check the same bound for direct calls. A
stride larger than the padded input is allowed (as in Keras): the output then has length
1 and the stride only ever multiplies 0.
"""
import numbers

import numpy as np

from .._kernels.guards import is_plain

MAX_GEOMETRY = 2**31 - 1


def is_int(value):
    """True for Python and NumPy integers, False for bools (``True`` is not a stride).

    Args:
        value (object): anything.

    Returns:
        bool
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _prefix(owner):
    return f"{owner}: the" if owner else "The"


def int_tuple(value, rank, name, owner=None, minimum=1, maximum=MAX_GEOMETRY):
    """An int or ``rank`` ints -> a tuple of ``rank`` Python ints in ``[minimum, maximum]``
    (``kernel_size``, ``strides``, ``dilation_rate``, ``pool_size``); a ``ValueError``
    naming ``name`` and the value otherwise.

    Args:
        value (int or sequence of int): the argument's value.
        rank (int): how many ints it must give.
        name (str): the argument's name, for the error message.
        owner (str or None, default None): the layer or op named in the error message.
        minimum (int, default 1): the smallest value allowed.
        maximum (int, default MAX_GEOMETRY): the largest value allowed.

    Returns:
        tuple of int

    Example:
        >>> int_tuple(3, 2, "kernel_size")
        (3, 3)
    """
    # the common case first: plain ints in range (a bool is not one, type(True) is bool)
    if type(value) is int and minimum <= value <= maximum:
        return (value,) * rank
    if (type(value) is tuple and len(value) == rank
            and all(type(v) is int and minimum <= v <= maximum for v in value)):
        return value
    items = None
    if is_int(value):
        items = (value,) * rank
    elif not isinstance(value, (str, bytes)):
        try:
            items = tuple(value)
        except TypeError:
            pass
    if items is None or len(items) != rank or not all(is_int(v) for v in items):
        raise ValueError(f"{_prefix(owner)} `{name}` argument must be an integer or a tuple of "
                         f"{rank} integers. Received {name}={value!r}")
    bad = {int(v) for v in items if not minimum <= v <= maximum}
    if bad:
        rules = [("value > 0" if minimum == 1 else f"value >= {minimum}")
                 if min(bad) < minimum else None,
                 f"value <= {maximum}" if max(bad) > maximum else None]
        rule = "` and `".join(r for r in rules if r)
        raise ValueError(f"{_prefix(owner)} `{name}` argument must be a tuple of {rank} integers "
                         f"in [{minimum}, {maximum}]. Received {name}={value!r}, including values "
                         f"{bad} that do not satisfy `{rule}`")
    return tuple(int(v) for v in items)


def check_kernel_span(kernel_size, dilation_rate, owner=None):
    """The dilated kernel ``d*(k-1) + 1`` must fit the bound too: its "same" and "causal"
    pads are made from it.

    Args:
        kernel_size (tuple of int): k per axis.
        dilation_rate (tuple of int): d per axis.
        owner (str or None, default None): the layer or op named in the error message.

    Raises:
        ValueError: if a span is larger than the bound.
    """
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation_rate))
    if max(spans) > MAX_GEOMETRY:
        raise ValueError(f"{_prefix(owner)} dilated kernel spans `dilation_rate * (kernel_size - 1)"
                         f" + 1` = {spans} input positions, more than {MAX_GEOMETRY}. Received "
                         f"dilation_rate={tuple(dilation_rate)}, kernel_size={tuple(kernel_size)}")


def data_format(value, owner=None):
    """``None`` -> ``mg.config.image_data_format()``; else ``"channels_last"`` or
    ``"channels_first"`` (any case).

    Args:
        value (str or None): the argument's value.
        owner (str or None, default None): the layer or op named in the error message.

    Returns:
        str: ``"channels_last"`` or ``"channels_first"``.

    Raises:
        ValueError: for any other value.
    """
    if value is None:
        from .. import config
        return config.image_data_format()
    mode = value.lower() if isinstance(value, str) else value
    if mode not in ("channels_last", "channels_first"):
        raise ValueError(f"{_prefix(owner)} `data_format` argument must be one of "
                         f"{{'channels_first', 'channels_last'}}. Received: data_format={value!r}")
    return mode


def explicit_pads(padding, rank, owner=None):
    """Explicit padding: ``rank`` (before, after) pairs of ints in ``[0, MAX_GEOMETRY]``; an
    int ``n`` means ``(n, n)``; a 1D op also takes one bare pair.

    Args:
        padding (int, pair or sequence of pairs): the argument's value.
        rank (int): the number of spatial axes.
        owner (str or None, default None): the layer or op named in the error message.

    Returns:
        tuple: ``rank`` ``(before, after)`` pairs.

    Raises:
        ValueError: for anything else, naming the value.
    """
    message = (f"{_prefix(owner)} `padding` argument must be one of {{'valid', 'same', 'causal'}} "
               f"or {rank} (before, after) pair(s) of integers in [0, {MAX_GEOMETRY}], one per "
               f"spatial axis. Received padding={padding!r}")
    try:
        items = tuple(padding)
    except TypeError:
        raise ValueError(message) from None
    if rank == 1 and len(items) == 2 and all(is_int(v) for v in items):
        items = (items,)
    if len(items) != rank:
        raise ValueError(message)
    pads = []
    for p in items:
        try:
            pair = (p, p) if is_int(p) else tuple(p)
        except TypeError:
            raise ValueError(message) from None
        if len(pair) != 2 or not all(is_int(v) and 0 <= v <= MAX_GEOMETRY for v in pair):
            raise ValueError(message)
        pads.append((int(pair[0]), int(pair[1])))
    return tuple(pads)


def conv_padding(length, kernel_size, stride, dilation, padding):
    """Zero padding ``(before, after)`` of one spatial axis.

    * ``"valid"``  -> (0, 0)
    * ``"same"``   -> output length ceil(L / s); total ``T = max((out-1)*s + ek - L, 0)``
      split ``(T // 2, T - T // 2)`` (the odd extra pad goes at the end)
    * ``"causal"`` -> (d*(k-1), 0): output t only sees inputs up to t*s
    * a ``(before, after)`` pair passes through.

    Args:
        length (int or None): L, the input length of the axis.
        kernel_size (int): k.
        stride (int): s.
        dilation (int): d.
        padding (str or tuple): "valid", "same", "causal" or a ``(before, after)`` pair.

    Returns:
        tuple: ``(before, after)``.

    Example:
        >>> ops.conv_padding(10, 3, 2, 1, "same")
        (0, 1)
    """
    if isinstance(padding, str):
        mode = padding.lower()
        effective = dilation * (kernel_size - 1) + 1
        if mode == "valid":
            return (0, 0)
        if mode == "causal":
            return (effective - 1, 0)
        if mode == "same":
            out = -(-length // stride)
            total = max((out - 1) * stride + effective - length, 0)
            return (total // 2, total - total // 2)
        raise ValueError("The `padding` argument must be a list/tuple or one of "
                         f"{{'valid', 'same', 'causal'}}. Received: {padding!r}")
    before, after = padding
    return (int(before), int(after))


def conv_output_length(length, kernel_size, stride, dilation, padding):
    """Output length of one spatial axis (``None`` stays ``None``, for unknown lengths):
    ``(L + before + after - d*(k-1) - 1) // s + 1`` with the pads of :func:`conv_padding`;
    ceil(L/s) for "same" and "causal". May be <= 0: the caller says whose arguments those are.

    Args:
        length (int or None): L, the input length of the axis.
        kernel_size (int): k.
        stride (int): s.
        dilation (int): d.
        padding (str or tuple): "valid", "same", "causal" or a ``(before, after)`` pair.

    Returns:
        int or None: the output length (None for an unknown ``length``).

    Example:
        >>> ops.conv_output_length(10, 3, 2, 1, "valid")
        4
    """
    if length is None:
        return None
    before, after = conv_padding(length, kernel_size, stride, dilation, padding)
    return (length + before + after - dilation * (kernel_size - 1) - 1) // stride + 1


class ConvGeometry:
    """Validated arguments of one convolution op: rank, strides, dilation, pads, layout and
    output shape. ``op`` names the caller in every message.

    x_shape  (N, *spatial, C) or (N, C, *spatial) for channels_first
    kernel_shape (*k, C, M)

    Args:
        op (str): the caller, named in every message.
        x_shape (tuple): as above.
        kernel_shape (tuple): as above.
        strides (int or tuple): s per spatial axis.
        padding (str or tuple): "valid", "same", "causal" or explicit pairs.
        data_format_ (str or None): the layout; None means the configured one.
        dilation_rate (int or tuple): d per spatial axis.

    Raises:
        ValueError: for arguments that do not fit, naming the argument and value.
    """

    def __init__(self, op, x_shape, kernel_shape, strides, padding, data_format_, dilation_rate):
        r = len(kernel_shape) - 2
        if r not in (1, 2):
            raise ValueError(f"{op}: the kernel must have rank 3 (1D: k, C, M) or 4 (2D: kh, kw, "
                             f"C, M). Received kernel shape {tuple(kernel_shape)}")
        self.rank, self.op, self.padding = r, op, padding
        self.channels_first = data_format(data_format_, op) == "channels_first"
        if len(x_shape) != r + 2:
            layout = "(N, C, *spatial)" if self.channels_first else "(N, *spatial, C)"
            raise ValueError(f"{op}: expected an input of rank {r + 2} {layout} for a {r}D kernel "
                             f"of shape {tuple(kernel_shape)}. Received input shape "
                             f"{tuple(x_shape)}")
        if min(kernel_shape) <= 0:
            raise ValueError(f"{op}: kernel dimensions must be positive. Received kernel shape "
                             f"{tuple(kernel_shape)}")
        self.spatial = spatial = x_shape[2:] if self.channels_first else x_shape[1:1 + r]
        channels = x_shape[1] if self.channels_first else x_shape[-1]
        if min(spatial) <= 0 or channels <= 0:
            raise ValueError(f"{op}: spatial and channel sizes must be positive. Received input "
                             f"shape {tuple(x_shape)}")
        if channels != kernel_shape[-2]:
            layout = "channels_first" if self.channels_first else "channels_last"
            raise ValueError(f"{op}: the input has {channels} channels (shape {tuple(x_shape)}, "
                             f"{layout}) but the kernel of shape {tuple(kernel_shape)} expects "
                             f"{kernel_shape[-2]}")
        self.strides = int_tuple(strides, r, "strides", op)
        self.dilation = int_tuple(dilation_rate, r, "dilation_rate", op)
        ksize = tuple(kernel_shape[:r])
        check_kernel_span(ksize, self.dilation, op)
        if isinstance(padding, str):
            mode = padding.lower()
            if mode not in ("valid", "same", "causal"):
                raise ValueError(f"{op}: the `padding` argument must be a list/tuple or one of "
                                 f"{{'valid', 'same', 'causal'}}. Received: {padding!r}")
            if mode == "causal" and r != 1:
                raise ValueError(f"{op}: padding='causal' is only defined for 1D convolutions; "
                                 f"received a {r}D kernel of shape {tuple(kernel_shape)}")
            self.pads = tuple(conv_padding(L, k, s, d, mode)
                              for L, k, s, d in zip(spatial, ksize, self.strides, self.dilation))
        else:
            self.pads = explicit_pads(padding, r, op)
        self.out = tuple((L + b + a - d * (k - 1) - 1) // s + 1
                         for L, k, s, d, (b, a) in zip(spatial, ksize, self.strides,
                                                        self.dilation, self.pads))
        if min(self.out) <= 0:
            raise ValueError(f"{op}: Computed output size would be zero or negative. Received "
                             f"`inputs shape={tuple(x_shape)}`, `kernel shape="
                             f"{tuple(kernel_shape)}`, `dilation_rate={list(self.dilation)}`, "
                             f"`strides={self.strides}`, `padding={padding}` (output shape "
                             f"{self.out}).")

    @classmethod
    def of(cls, op, x_shape, kernel_shape, strides, padding, data_format_, dilation_rate):
        """``ConvGeometry(...)`` for these arguments, from a memo when the same valid
        arguments came before: a model runs each of its convolutions with the same ones
        at every step, and checking them again costs more than a small kernel call. Only
        strides, padding and dilation made of str, Python ints and tuples of them (and a
        str or None data_format) are remembered, so that ``True`` or ``1.0`` (equal to 1
        as keys) still meet the full check (shapes are tuples of ints, and only a valid
        geometry is remembered)."""
        if not ((data_format_ is None or type(data_format_) is str) and is_plain(strides)
                and is_plain(padding) and is_plain(dilation_rate)):
            return cls(op, x_shape, kernel_shape, strides, padding, data_format_,
                       dilation_rate)
        key = (op, x_shape, kernel_shape, strides, padding, data_format_, dilation_rate)
        if data_format_ is None:
            from .. import config
            key += (config.image_data_format(),)
        geometry = _memo.get(key)
        if geometry is None:
            geometry = cls(op, x_shape, kernel_shape, strides, padding, data_format_,
                           dilation_rate)
            if len(_memo) >= _MEMO_SIZE:
                _memo.clear()
            _memo[key] = geometry
        return geometry

    def memory_named(self):
        """A context manager inside which a MemoryError (an output or padded input too
        large for this machine) becomes a ValueError that names this geometry."""
        return _MemoryNamed(self)

    # Layout: the kernels want channels_last, C-contiguous arrays.
    def to_channels_last(self, a):
        if self.channels_first:
            a = np.moveaxis(a, 1, -1)
        return np.ascontiguousarray(a)

    def from_channels_last(self, a):
        return np.moveaxis(a, -1, 1) if self.channels_first else a


_MEMO_SIZE = 512
_memo = {}        # ConvGeometry.of: arguments -> geometry (a ConvGeometry is never changed)


class _MemoryNamed:
    """:meth:`ConvGeometry.memory_named`: a class rather than a generator, as every
    convolution op enters one (this costs a third as much)."""

    __slots__ = ("geometry",)

    def __init__(self, geometry):
        self.geometry = geometry

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None or not issubclass(kind, MemoryError):
            return False
        g = self.geometry
        raise ValueError(f"{g.op}: the arrays for spatial input {tuple(g.spatial)} padded by "
                         f"{g.pads} to output {g.out} do not fit in memory ({error}). Check "
                         f"`padding`={g.padding!r}, `strides`={g.strides} and "
                         f"`dilation_rate`={g.dilation}.") from None


__all__ = ["MAX_GEOMETRY", "ConvGeometry", "check_kernel_span", "conv_output_length", "conv_padding", "data_format",
           "explicit_pads", "int_tuple", "is_int"]
