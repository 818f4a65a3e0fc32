"""Cheap argument guards of the compiled kernels, so that a direct call can never crash.

The ops in ``minigrad.ops.convolution`` validate their arguments once, at the op boundary,
and hand the kernels canonical values. The compiled kernels (``depthwise.pyx``,
``pointwise.pyx``, ``normalization.pyx``, ``activation.pyx``) can also be called directly,
though, and their loops run without bounds checks; these functions check what the loops
rely on — array types and dtypes, ranks, shapes, positive strides and dilation,
non-negative pads, an output of at least one position — and raise ``TypeError``/
``ValueError`` naming the argument before any memory is touched. The promise covers the
public functions (the names ``minigrad/_kernels/__init__.py`` lists); the ``_run_*``
helpers of the other ``.pyx`` files are private, take sizes as given and check nothing
(``depthwise.pyx`` has only ``cdef`` ones, out of Python's reach). The NumPy twins trust
their arguments.
"""
import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Largest stride, dilation or pad accepted, so that every index the loops form fits in
# Py_ssize_t (the op-level bound of the convolution geometry is the same).
MAX_GEOMETRY = 2**31 - 1


def check_array(name, a):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy.ndarray, received {type(a).__name__}.")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"`{name}` must have dtype float32 or float64, received dtype {a.dtype}.")


def check_same_dtype(names, arrays):
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) > 1:
        got = ", ".join(f"{n}={a.dtype}" for n, a in zip(names, arrays))
        raise TypeError(f"All arrays must share one dtype, received {got}.")


def int_tuple(name, value, r, minimum):
    """A tuple of r Python ints in [minimum, MAX_GEOMETRY], or a clear error."""
    if (type(value) is tuple and len(value) == r      # what the ops pass: checked at once
            and all(type(v) is int and minimum <= v <= MAX_GEOMETRY for v in value)):
        return value
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"`{name}` must be a tuple of {r} integers, received {value!r}.") from None
    if len(items) != r:
        raise ValueError(f"`{name}` must be a tuple of {r} integers, received {value!r}.")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"`{name}` must be a tuple of {r} integers, received {value!r}.")
        if v < minimum:
            raise ValueError(f"`{name}` must contain integers >= {minimum}, received {value!r}.")
        out.append(int(v))
    return tuple(out)


def pads_tuple(pads, r):
    try:
        items = tuple(pads)
    except TypeError:
        raise TypeError(f"`pads` must be a tuple of {r} (before, after) pairs, received {pads!r}.") from None
    if len(items) != r:
        raise ValueError(f"`pads` must be a tuple of {r} (before, after) pairs, received {pads!r}.")
    return tuple(int_tuple(f"pads[{i}]", p, 2, 0) for i, p in enumerate(items))


def shape_tuple(name, shape, ndim):
    return int_tuple(name, shape, ndim, 0)


def is_plain(value):
    """True for a str, a Python int (not a bool) and tuples of those: arguments that can
    key a memo of checked ones (``True`` and ``1.0`` equal 1 as keys, so they are not
    plain and always meet the full check)."""
    kind = type(value)
    if kind is int or kind is str:
        return True
    if kind is not tuple:
        return False
    for item in value:
        if not is_plain(item):
            return False
    return True


_MEMO_SIZE = 512
_geometries = {}      # depthwise_geometry: plain arguments -> the (immutable) result


def depthwise_geometry(x_shape, kernel_shape, strides, dilation, pads, x_name):
    """Check shapes and parameters; return (r, strides, dilation, pads, out_shape).
    Valid plain arguments are remembered: a model makes the same calls at every step."""
    key = (x_shape, kernel_shape, strides, dilation, pads, x_name)
    if is_plain(key):
        result = _geometries.get(key)
        if result is None:
            result = _depthwise_geometry(x_shape, kernel_shape, strides, dilation, pads, x_name)
            if len(_geometries) >= _MEMO_SIZE:
                _geometries.clear()
            _geometries[key] = result
        return result
    return _depthwise_geometry(x_shape, kernel_shape, strides, dilation, pads, x_name)


def _depthwise_geometry(x_shape, kernel_shape, strides, dilation, pads, x_name):
    r = len(kernel_shape) - 2
    if r not in (1, 2):
        raise ValueError(f"The kernel must have rank 3 (1D: k, C, M) or 4 (2D: kh, kw, C, M), "
                         f"received kernel shape {tuple(kernel_shape)}.")
    if len(x_shape) != r + 2:
        raise ValueError(f"`{x_name}` must have rank {r + 2} (N, *spatial, C) for a kernel of shape "
                         f"{tuple(kernel_shape)}, received shape {tuple(x_shape)}.")
    if min(kernel_shape) <= 0:
        raise ValueError(f"Kernel dimensions must be positive, received kernel shape {tuple(kernel_shape)}.")
    if min(x_shape[1:]) <= 0:
        raise ValueError(f"Spatial and channel dimensions of `{x_name}` must be positive, "
                         f"received shape {tuple(x_shape)}.")
    if x_shape[-1] != kernel_shape[-2]:
        raise ValueError(f"`{x_name}` has {x_shape[-1]} channels (shape {tuple(x_shape)}) but the kernel "
                         f"expects {kernel_shape[-2]} (kernel shape {tuple(kernel_shape)}).")
    strides = int_tuple("strides", strides, r, 1)
    dilation = int_tuple("dilation", dilation, r, 1)
    pads = pads_tuple(pads, r)
    for name, values in (("strides", strides), ("dilation", dilation), ("pads", sum(pads, ()))):
        if max(values) > MAX_GEOMETRY:
            raise ValueError(f"`{name}` must contain integers <= {MAX_GEOMETRY} (larger ones would "
                             f"overflow the kernels' index arithmetic), received {name}="
                             f"{pads if name == 'pads' else values}.")
    out = []
    for i in range(r):
        L, k = x_shape[1 + i], kernel_shape[i]
        o = (L + pads[i][0] + pads[i][1] - dilation[i] * (k - 1) - 1) // strides[i] + 1
        if o < 1:
            raise ValueError(
                f"Computed output size would be zero or negative: input shape {tuple(x_shape)}, "
                f"kernel shape {tuple(kernel_shape)}, strides={strides}, dilation={dilation}, "
                f"pads={pads} give output length {o} on spatial axis {i}.")
        out.append(o)
    return r, strides, dilation, pads, tuple(out)


def check_grad_y(grad_y, input_shape, kernel_shape, out):
    """grad_y must have the output's shape (N, *out, C*M)."""
    N, C, M = input_shape[0], kernel_shape[-2], kernel_shape[-1]
    expected = (N,) + tuple(out) + (C * M,)
    if grad_y.shape != expected:
        raise ValueError(f"`grad_y` must have shape {expected} for input shape {tuple(input_shape)} and "
                         f"kernel shape {tuple(kernel_shape)}, received {grad_y.shape}.")


def as_rank2(r, strides, dilation, pads, out, x_shape, kernel_shape):
    """Every size the loops need, with a 1D problem seen as 2D of height 1, as the dict of
    the loops' ``Geometry`` struct. Only the padding *before* each axis is needed: the
    output size already accounts for the padding after."""
    if r == 1:
        strides, dilation, pads, out = (1,) + strides, (1,) + dilation, ((0, 0),) + pads, (1,) + out
        x_shape, kernel_shape = (x_shape[0], 1) + tuple(x_shape[1:]), (1,) + tuple(kernel_shape)
    return dict(N=x_shape[0], H=x_shape[1], W=x_shape[2], C=x_shape[3], M=kernel_shape[3],
                KH=kernel_shape[0], KW=kernel_shape[1], OH=out[0], OW=out[1],
                sh=strides[0], sw=strides[1], dh=dilation[0], dw=dilation[1],
                ph=pads[0][0], pw=pads[1][0])


def ready_matrices(*arrays):
    """True when every array is a 2D float32 ndarray, or every one float64, with sizes
    below 2**31: what the ops pass. The public functions then test the shapes that must
    agree and skip the checks below; anything else takes those checks, whose messages name
    what is wrong."""
    first = arrays[0]
    if type(first) is not np.ndarray or first.dtype not in FLOAT_DTYPES:
        return False
    for a in arrays:
        if (type(a) is not np.ndarray or a.dtype != first.dtype or a.ndim != 2
                or a.shape[0] > MAX_GEOMETRY or a.shape[1] > MAX_GEOMETRY):
            return False
    return True


def check_matrix(name, a, shape_doc, int_max=2**31 - 1):
    """A 2D float array whose sizes BLAS can take (32-bit ints)."""
    check_array(name, a)
    if a.ndim != 2:
        raise ValueError(f"`{name}` must be a 2D array {shape_doc}, received shape {a.shape}.")
    if a.shape[0] > int_max or a.shape[1] > int_max:
        raise ValueError(f"`{name}` has shape {a.shape}; BLAS needs dimensions below 2**31.")
