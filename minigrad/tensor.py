"""Tensor and Variable: NumPy arrays that the tape can follow.

A :class:`Tensor` wraps an ``ndarray`` (``.data``). Its dtype is kept: float32 stays
float32, float64 stays float64, integers stay integers (they can be used, not
differentiated). Operators (``+ - * / @ **``, unary minus, indexing, ``.T``) and
methods (``sum``, ``mean``, ``reshape``...) call the differentiable functions in
:mod:`minigrad.ops`, which compute the result with NumPy and, when a
:class:`~minigrad.GradientTape` is recording, leave an entry on it.

A :class:`Variable` is a Tensor that holds trainable state: ``assign`` replaces its
value, ``trainable`` says whether optimizers and tapes should care about it, and layers
attach an optional ``constraint`` (applied by optimizers after each step) and
``regularizer``.
"""
import numpy as np

_FLOAT_KINDS = "f"


def _to_array(value, dtype=None):
    """``value`` as an ndarray of booleans, integers or floats (TypeError otherwise)."""
    if isinstance(value, Tensor):
        value = value.data
    try:
        arr = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as e:      # ragged lists, strings that are not numbers
        raise type(e)(f"Cannot make a Tensor from {type(value).__name__}"
                        f"{'' if dtype is None else f' with dtype={dtype!r}'}: {e}") from None
    if arr.dtype.kind in "biuf":
        return arr
    if arr.dtype.kind == "O":
        raise TypeError(f"Cannot make a Tensor from {type(value).__name__} holding objects; "
                        "expected numbers or an array of numbers.")
    raise TypeError(f"Unsupported dtype {arr.dtype} for a Tensor; expected a boolean, "
                    "integer or floating-point array.")


class Tensor:
    """An n-dimensional array with gradient tracking.

    >>> t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> t.shape, t.dtype
    ((2, 2), dtype('float64'))

    Python floats become float64 (NumPy's default); pass ``dtype="float32"`` or a
    float32 array to get float32.

    Args:
        value (array-like or Tensor): the data (a Tensor's data is shared, not copied).
        dtype (str, numpy dtype or None, default None): None keeps ``value``'s (float64 for
            Python floats).
        name (str or None, default None): shown in tape listings and drawings.
    """

    __slots__ = ("data", "grad", "name", "_tape", "_hooks", "__weakref__")
    __array_priority__ = 1000     # ndarray <op> Tensor defers to Tensor's reflected op

    def __init__(self, value, dtype=None, name=None):
        self.data = _to_array(value, dtype)
        self.grad = None
        self.name = name
        self._tape = None          # the tape that recorded the op making this tensor
        self._hooks = None

    # -- basics ------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def numpy(self):
        """The value as a NumPy array (the tensor's own buffer; copy before mutating)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        return self.data.item()

    def __len__(self):
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __float__(self):
        return float(self.data)

    def __str__(self):
        # print() shows the values as NumPy prints them (a gradient prints like an array);
        # repr() says what the object is.
        return str(self.data)

    def __repr__(self):
        label = f", name={self.name!r}" if self.name else ""
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        return f"Tensor({body}, dtype={self.dtype}{label})"

    def __bool__(self):
        return bool(self.data)

    def astype(self, dtype):
        """This tensor in another dtype: :func:`minigrad.ops.cast`.

        Args:
            dtype (str or numpy dtype): the new dtype.

        Returns:
            Tensor
        """
        from . import ops
        return ops.cast(self, dtype)

    # -- hooks and backward ------------------------------------------------------
    def register_hook(self, fn):
        """Call ``fn(grad)`` when this tensor's gradient is known during backward.

        ``fn`` may return a replacement gradient (or None to keep it). Returns a handle
        whose ``remove()`` unregisters the hook.

        Args:
            fn (callable): ``fn(grad)`` -> a replacement gradient, or None to keep it.

        Returns:
            a handle with ``remove()``.
        """
        if not callable(fn):
            raise TypeError(f"register_hook expects a callable, got {type(fn).__name__}.")
        if self._hooks is None:
            self._hooks = {}
        key = object()
        self._hooks[key] = fn
        return _HookHandle(self, key)

    def backward(self, gradient=None):
        """Fill ``.grad`` of every leaf watched by the tape that recorded this tensor.

        Like PyTorch, ``.grad`` accumulates: set ``x.grad = None`` to start again.

        Args:
            gradient (array-like or None, default None): the seed, this tensor's shape; None
                means ones (a non-scalar tensor is differentiated as its sum).

        Example:
            >>> x = mg.Variable([1.0, 2.0])
            >>> with mg.GradientTape():
            ...     y = (x * x).sum()
            >>> y.backward()
            >>> x.grad.tolist()
            [2.0, 4.0]
        """
        tape = self._tape
        if tape is None:
            raise RuntimeError("backward() needs a tensor computed inside a GradientTape "
                               "from watched tensors or trainable Variables; this one was "
                               "not recorded by any tape.")
        if gradient is None and self.data.size != 1:
            raise RuntimeError(f"backward() without a gradient needs a scalar, got shape "
                               f"{self.shape}; reduce it (e.g. .sum()) or pass gradient=.")
        tape._fill_grads(self, gradient)

    # -- operators (the maths lives in minigrad.ops) -----------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.subtract(self, other)

    def __rsub__(self, other):
        return _ops.subtract(other, self)

    def __mul__(self, other):
        return _ops.multiply(self, other)

    def __rmul__(self, other):
        return _ops.multiply(other, self)

    def __truediv__(self, other):
        return _ops.divide(self, other)

    def __rtruediv__(self, other):
        return _ops.divide(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __pow__(self, other):
        return _ops.power(self, other)

    def __rpow__(self, other):
        return _ops.power(other, self)

    def __neg__(self):
        return _ops.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # Comparisons give plain boolean arrays: they have no gradient.
    def __lt__(self, other):
        return Tensor(self.data < _to_array(other))

    def __le__(self, other):
        return Tensor(self.data <= _to_array(other))

    def __gt__(self, other):
        return Tensor(self.data > _to_array(other))

    def __ge__(self, other):
        return Tensor(self.data >= _to_array(other))

    __hash__ = object.__hash__

    @property
    def T(self):
        return _ops.transpose(self)

    # ``dtype`` and ``out`` are accepted because NumPy's functions call these methods
    # (np.sum(tensor) is tensor.sum(axis=None, out=None)); a gradient, being a Tensor,
    # often meets them.
    def sum(self, axis=None, keepdims=False, dtype=None, out=None):
        """Sum over ``axis``: :func:`minigrad.ops.sum`.

        Args:
            axis (int, tuple or None, default None): the axes reduced; None for all.
            keepdims (bool, default False): keep the reduced axes with length 1.
            dtype (str, numpy dtype or None, default None): NumPy passes it (``np.sum(t)``);
                a dtype casts first.
            out (None, default None): must be None (a Tensor is never written in place).

        Returns:
            Tensor
        """
        return _ops.sum(self._numpy_call(dtype, out, "sum"), axis, keepdims)

    def mean(self, axis=None, keepdims=False, dtype=None, out=None):
        """Mean over ``axis``: :func:`minigrad.ops.mean`.

        Args:
            axis (int, tuple or None, default None): the axes reduced; None for all.
            keepdims (bool, default False): keep the reduced axes with length 1.
            dtype (str, numpy dtype or None, default None): NumPy passes it (``np.sum(t)``);
                a dtype casts first.
            out (None, default None): must be None (a Tensor is never written in place).

        Returns:
            Tensor
        """
        return _ops.mean(self._numpy_call(dtype, out, "mean"), axis, keepdims)

    def max(self, axis=None, keepdims=False, out=None):
        """Maximum over ``axis``: :func:`minigrad.ops.max`.

        Args:
            axis (int, tuple or None, default None): the axes reduced; None for all.
            keepdims (bool, default False): keep the reduced axes with length 1.
            out (None, default None): must be None (a Tensor is never written in place).

        Returns:
            Tensor
        """
        return _ops.max(self._numpy_call(None, out, "max"), axis, keepdims)

    def min(self, axis=None, keepdims=False, out=None):
        """Minimum over ``axis``: :func:`minigrad.ops.min`.

        Args:
            axis (int, tuple or None, default None): the axes reduced; None for all.
            keepdims (bool, default False): keep the reduced axes with length 1.
            out (None, default None): must be None (a Tensor is never written in place).

        Returns:
            Tensor
        """
        return _ops.min(self._numpy_call(None, out, "min"), axis, keepdims)

    def _numpy_call(self, dtype, out, name):
        if out is not None:
            raise TypeError(f"Tensor.{name}: out= is not supported (a Tensor's value is "
                            "never written in place); use the returned Tensor.")
        return self if dtype is None else _ops.cast(self, dtype)

    def reshape(self, *shape):
        """The same elements in a new shape: :func:`minigrad.ops.reshape`.

        Args:
            *shape: the new shape, as ints or one tuple (one entry may be -1).

        Returns:
            Tensor
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self, *axes):
        """Axes permuted: :func:`minigrad.ops.transpose`.

        Args:
            *axes: the new order, as ints or one tuple; none reverses them.

        Returns:
            Tensor
        """
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    def exp(self):
        """e^x: :func:`minigrad.ops.exp`.

        Returns:
            Tensor
        """
        return _ops.exp(self)

    def log(self):
        """Natural logarithm: :func:`minigrad.ops.log`.

        Returns:
            Tensor
        """
        return _ops.log(self)

    def sqrt(self):
        """Square root: :func:`minigrad.ops.sqrt`.

        Returns:
            Tensor
        """
        return _ops.sqrt(self)

    def abs(self):
        """|x|: :func:`minigrad.ops.abs`.

        Returns:
            Tensor
        """
        return _ops.abs(self)

    def clip(self, lo, hi):
        """Values limited to [lo, hi]: :func:`minigrad.ops.clip`.

        Args:
            lo (float or array-like): the lower bound.
            hi (float or array-like): the upper bound.

        Returns:
            Tensor
        """
        return _ops.clip(self, lo, hi)


class _HookHandle:
    def __init__(self, tensor, key):
        self._tensor, self._key = tensor, key

    def remove(self):
        hooks = self._tensor._hooks
        if hooks is not None:
            hooks.pop(self._key, None)


class Variable(Tensor):
    """Trainable state: a Tensor whose value changes only through ``assign``.

    trainable: watched automatically by tapes and updated by optimizers when True.
    constraint: optional callable ``w -> projected w`` that optimizers apply after
        each update step (never at creation or on ``assign``).
    regularizer: optional callable ``w -> scalar penalty`` (read by layers' ``losses``).

    Args:
        value (array-like or Tensor): the initial value.
        dtype (str, numpy dtype or None, default None): None keeps ``value``'s.
        name (str or None, default None): e.g. ``"dense/kernel"``.
        trainable (bool, default True): as above.
        constraint (callable or None, default None): as above.
        regularizer (callable or None, default None): as above.

    Example:
        >>> w = mg.Variable([1.0, 2.0], name="w")
        >>> w.assign_add([1.0, 1.0]).numpy().tolist()
        [2.0, 3.0]
    """

    __slots__ = ("trainable", "constraint", "regularizer", "path")

    def __init__(self, value, dtype=None, name=None, trainable=True, constraint=None,
                 regularizer=None):
        super().__init__(value, dtype=dtype, name=name)
        if not isinstance(trainable, bool):
            raise ValueError(f"Expected `trainable` to be a boolean. Received: "
                             f"trainable={trainable!r} (of type {type(trainable)}).")
        if self.data.dtype.kind not in _FLOAT_KINDS and trainable:
            raise TypeError(f"A trainable Variable must be floating point, got dtype "
                            f"{self.data.dtype} for {name or 'the variable'}.")
        self.data = np.array(self.data, copy=True)     # own the buffer
        self.trainable = trainable
        self.constraint = constraint
        self.regularizer = regularizer
        self.path = name

    def assign(self, value):
        """Replace the value (same shape; cast to this variable's dtype). Returns self.

        Args:
            value (array-like or Tensor): the new value, this variable's shape.

        Returns:
            Variable: self.

        Raises:
            ValueError: for another shape.
        """
        new = _to_array(value)
        if new.shape != self.shape:
            raise ValueError(f"Cannot assign a value of shape {new.shape} to variable "
                             f"{self.name!r} of shape {self.shape}.")
        # A fresh buffer: tensors recorded on a tape keep seeing the old value.
        self.data = np.array(new, dtype=self.dtype, copy=True)
        return self

    def assign_add(self, delta):
        """``assign(value + delta)``.

        Args:
            delta (array-like or Tensor): added to the value.

        Returns:
            Variable: self.
        """
        return self.assign(self.data + _to_array(delta))

    def assign_sub(self, delta):
        """``assign(value - delta)``.

        Args:
            delta (array-like or Tensor): subtracted from the value.

        Returns:
            Variable: self.
        """
        return self.assign(self.data - _to_array(delta))

    def __str__(self):
        return self.__repr__()

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Variable(")
        return (f"Variable({body}, dtype={self.dtype}, name={self.name!r}, "
                f"trainable={self.trainable})")


def as_tensor(value, dtype=None):
    """``value`` as a Tensor (Tensors pass through unchanged).

    Args:
        value (array-like or Tensor): the data.
        dtype (str, numpy dtype or None, default None): for a new Tensor; None keeps
            ``value``'s.

    Returns:
        Tensor
    """
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != np.dtype(dtype):
            raise TypeError(f"Expected a {np.dtype(dtype)} tensor, got {value.dtype}.")
        return value
    return Tensor(value, dtype=dtype)


from . import ops as _ops  # noqa: E402  (operators call into ops, which imports Tensor)
