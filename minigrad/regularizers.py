"""Regularizers: ``reg(weight) -> scalar Tensor``, a penalty added to the training loss.

Penalties are built from differentiable :mod:`minigrad.ops`, so computed inside a
``GradientTape`` their gradient reaches the weight:

    L1(l1)              l1 * sum |x|
    L2(l2)              l2 * sum x^2
    L1L2(l1, l2)        both (a term whose coefficient is 0 is left out)
    OrthogonalRegularizer(factor, mode)
                        rank-2 x only. rows: normalise every row to unit length,
                        P = X X^T with the diagonal zeroed,
                        factor * 0.5 * sum |P| / (n (n - 1) / 2), n = number of rows.
                        columns: the same on X^T.

The coefficient is cast to the weight's dtype: float32 weights give a float32 penalty.

String names: "l1", "l2", "orthogonal_regularizer" (0.01 each); "l1l2" / "L1L2" are
``L1L2()`` — a zero penalty, as in Keras 3; and, following tf.keras (a deliberate choice),
"l1_l2" is ``L1L2(l1=0.01, l2=0.01)``, as is the function :func:`l1_l2`. Any callable
works as a regularizer.

Deviation from Keras 3: on float64 weights Keras computes L1 and OrthogonalRegularizer
with a float32-rounded coefficient (0.009999999776...); minigrad uses the coefficient as
given.
"""
import math
import numbers

import numpy as np

from . import config, ops
from .registry import Configurable, Registry
from .tensor import Tensor, as_tensor

REGISTRY = Registry("regularizer")


def validate_coefficient(value, name):
    """``value`` as a float; must be a finite number >= 0 (ints are fine).

    Args:
        value (int or float): the coefficient.
        name (str): the argument's name, for the error message.

    Returns:
        float

    Raises:
        ValueError: for a negative, non-finite or non-numeric value (a bool included).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


def _float_tensor(x):
    """``x`` as a float Tensor (integer inputs become floatx)."""
    x = as_tensor(x)
    return x if x.dtype.kind == "f" else ops.cast(x, config.floatx())


def _coefficient(value, x):
    return np.asarray(value, dtype=x.dtype)


class Regularizer(Configurable):
    """Base class: ``__call__(x)`` returns a scalar Tensor penalty.

    Subclasses implement ``__call__`` and ``get_config``; takes no arguments.
    """

    def __call__(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__.")



@REGISTRY.register("l1", "L1")
class L1(Regularizer):
    """``l1 * sum(|x|)``.

    Args:
        l1 (float, default 0.01): the coefficient, >= 0.

    Returns (when called on a weight x):
        Tensor: the scalar penalty, differentiable; ``layer.losses`` holds it.

    Example:
        >>> float(regularizers.L1(0.5)(mg.Tensor([1.0, -2.0])).numpy())
        1.5
    """

    def __init__(self, l1=0.01):
        self.l1 = validate_coefficient(0.01 if l1 is None else l1, "l1")

    def __call__(self, x):
        x = _float_tensor(x)
        return ops.sum(ops.abs(x)) * _coefficient(self.l1, x)

    def get_config(self):
        return {"l1": self.l1}


@REGISTRY.register("l2", "L2")
class L2(Regularizer):
    """``l2 * sum(x^2)``.

    Args:
        l2 (float, default 0.01): the coefficient, >= 0.

    Returns (when called on a weight x):
        Tensor: the scalar penalty, differentiable; ``layer.losses`` holds it.

    Example:
        >>> float(regularizers.L2(0.5)(mg.Tensor([1.0, -2.0])).numpy())
        2.5
    """

    def __init__(self, l2=0.01):
        self.l2 = validate_coefficient(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = _float_tensor(x)
        return ops.sum(ops.square(x)) * _coefficient(self.l2, x)

    def get_config(self):
        return {"l2": self.l2}


@REGISTRY.register("l1l2", "L1L2")
class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x^2)``; both default to 0 (no penalty).

    A term with coefficient 0 is skipped; with both 0 the penalty is a constant 0.

    Args:
        l1 (float, default 0.0): the coefficient of sum(|x|), >= 0.
        l2 (float, default 0.0): the coefficient of sum(x^2), >= 0.

    Returns (when called on a weight x):
        Tensor: the scalar penalty, differentiable; ``layer.losses`` holds it.

    Example:
        >>> float(regularizers.L1L2(l1=1.0, l2=1.0)(mg.Tensor([1.0, -2.0])).numpy())
        8.0
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_coefficient(0.0 if l1 is None else l1, "l1")
        self.l2 = validate_coefficient(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = _float_tensor(x)
        penalty = None
        if self.l1:
            penalty = ops.sum(ops.abs(x)) * _coefficient(self.l1, x)
        if self.l2:
            term = ops.sum(ops.square(x)) * _coefficient(self.l2, x)
            penalty = term if penalty is None else penalty + term
        return Tensor(np.zeros((), dtype=x.dtype)) if penalty is None else penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    """``L1L2(l1, l2)`` with tf.keras's defaults 0.01 / 0.01 (the class defaults are 0).

    Args:
        l1 (float, default 0.01): the coefficient of sum(|x|), >= 0.
        l2 (float, default 0.01): the coefficient of sum(x^2), >= 0.

    Returns:
        L1L2
    """
    return L1L2(l1=l1, l2=l2)


REGISTRY.add("l1_l2", l1_l2)


def _unit_rows(x):
    """Each row of ``x`` times ``min(1 / ||row||, 1 / eps)`` (zero rows stay zero).

    Written with ``where`` so no 1/0 is ever formed: the gradient stays finite.
    """
    eps = config.epsilon()
    squares = ops.sum(ops.square(x), axis=1, keepdims=True)
    long_enough = squares.data >= eps * eps
    safe = ops.where(long_enough, squares, 1.0)
    inverse_norm = ops.where(long_enough, 1.0 / ops.sqrt(safe), 1.0 / eps)
    return x * ops.cast(inverse_norm, x.dtype)


@REGISTRY.register("orthogonal_regularizer", "OrthogonalRegularizer")
class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a rank-2 weight towards being orthogonal.

    Penalty: ``factor * mean |cos(angle)|`` over all pairs of distinct rows (columns),
    written as ``factor * 0.5 * sum |P - diag P| / (n (n - 1) / 2)`` with ``P`` the
    Gram matrix of the normalised rows. Rank-2 only: a conv kernel raises ValueError
    when the penalty is computed (not at construction), as in Keras.

    Args:
        factor (float, default 0.01): the coefficient, >= 0.
        mode (str, default "rows"): ``"rows"`` or ``"columns"``: which vectors should be
            orthogonal.

    Returns (when called on a weight x):
        Tensor: the scalar penalty, differentiable; ``layer.losses`` holds it.

    Example:
        >>> penalty = regularizers.OrthogonalRegularizer(1.0)
        >>> float(penalty(mg.Tensor([[1.0, 0.0], [1.0, 0.0]])).numpy())
        1.0
    """

    MODES = ("rows", "columns")

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = validate_coefficient(factor, "factor")
        if mode not in self.MODES:
            raise ValueError(f"Invalid value for argument `mode`. Expected one of "
                             f"{{'rows', 'columns'}}. Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, x):
        x = _float_tensor(x)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={x.shape}")
        if self.mode == "columns":
            x = ops.transpose(x)
        unit = _unit_rows(x)
        gram = ops.matmul(unit, ops.transpose(unit))
        n = x.shape[0]
        off_diagonal = gram * (1 - np.eye(n, dtype=x.dtype))
        pairs = n * (n - 1) / 2
        with np.errstate(divide="ignore", invalid="ignore"):    # n == 1: 0/0 = nan
            mean_abs = ops.sum(ops.abs(off_diagonal)) * _coefficient(0.5, x) \
                / _coefficient(pairs, x)
        return mean_abs * _coefficient(self.factor, x)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras's lower-case aliases of the classes.
l1, l2, orthogonal_regularizer = L1, L2, OrthogonalRegularizer


# A regularizer as a Keras-style dict (None stays None), and back.
serialize = REGISTRY.serialize
deserialize = REGISTRY.deserialize


def get(identifier):
    """A regularizer from a name, class, instance, config dict or any callable.

    None -> None; a :class:`Regularizer` or any callable passes through; a class is
    instantiated with its defaults; strings as listed in the module docstring.

    Args:
        identifier (str, type, Regularizer, dict, callable or None): what to look up.

    Returns:
        Regularizer, callable or None

    Raises:
        ValueError: for anything else, listing the valid names.

    Example:
        >>> regularizers.get("l2")
        L2(l2=0.01)
    """
    return REGISTRY.resolve(identifier, Regularizer)
