"""The loss formulas: functions that return one loss value per sample, and their helpers.

``mean_squared_error(y_true, y_pred)`` and the rest, as in Keras: the last axis is averaged
or summed away, so the result has shape ``y_pred.shape[:-1]``. The classes in
:mod:`minigrad.losses` (``MeanSquaredError()``...) call these and reduce the per-sample values
to a scalar with :func:`reduce_loss`; ``minigrad.losses`` exports every name here too, and
its docstring has the table of formulas.
"""
import numbers

import numpy as np

from . import config, ops
from .ops.nn import (  # noqa: F401  (used below)
    sigmoid_cross_entropy_with_logits, sparse_softmax_cross_entropy_with_logits,
)
from .tensor import Tensor

_REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "none")

# ----------------------------------------------------------------------------------------
# Helpers: inputs as Tensors / arrays, shape matching, reduction
# ----------------------------------------------------------------------------------------

def _prediction(y_pred):
    """``y_pred`` as a floating Tensor (integers become floatx)."""
    if not isinstance(y_pred, Tensor):
        y_pred = Tensor(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = ops.cast(y_pred, config.floatx())
    return y_pred


def _array(value):
    return np.asarray(value.data if isinstance(value, Tensor) else value)


def _match_shapes(y_true, y_pred, loss):
    """``y_true`` (an ndarray) with the shape of ``y_pred``.

    Like Keras, a trailing axis of size 1 is added or removed when the ranks differ by one
    ((N,) labels for (N, 1) predictions). Any other difference is an error.
    """
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1:] == (1,):
        y_true = y_true[..., None]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1:] == (1,):
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{loss}: y_true and y_pred must have the same shape, got y_true "
                         f"shape {y_true.shape} and y_pred shape {y_pred.shape}.")
    return y_true


def _targets(y_true, y_pred, loss):
    """``y_true`` as an ndarray of ``y_pred``'s float dtype and shape."""
    y_true = _array(y_true)
    if y_true.dtype.kind not in "biuf":
        raise TypeError(f"{loss}: y_true must be numeric, got dtype {y_true.dtype}.")
    return _match_shapes(y_true, y_pred, loss).astype(y_pred.dtype, copy=False)


def _check_axis(axis, y_pred, loss):
    if y_pred.ndim == 0 or not -y_pred.ndim <= axis < y_pred.ndim:
        raise ValueError(f"{loss}: axis={axis} is out of range for y_pred of shape "
                         f"{y_pred.shape}.")


def _check_label_smoothing(value, loss):
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not 0 <= value <= 1):
        raise ValueError(f"{loss}: `label_smoothing` must be a float in [0, 1]. Received: "
                         f"label_smoothing={value!r}")
    return float(value)


def _sample_weight(sample_weight, values):
    """``sample_weight`` as an array that broadcasts to the per-sample ``values``."""
    weight = _array(sample_weight).astype(values.dtype)
    while weight.ndim > values.ndim and weight.shape[-1] == 1:
        weight = weight[..., 0]
    while weight.ndim < values.ndim:
        weight = weight[..., None]
    try:
        ok = np.broadcast_shapes(weight.shape, values.shape) == values.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"sample_weight of shape {_array(sample_weight).shape} does not fit "
                         f"the per-sample losses of shape {values.shape} (one weight per "
                         f"sample expected).")
    return weight


def reduce_loss(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Weight the per-sample ``values`` and reduce them to what a Loss object returns.

    Args:
        values (Tensor): per-sample losses, e.g. of shape (batch,).
        sample_weight (array-like or None, default None): one weight per sample,
            broadcast against ``values``; None weighs every sample 1.
        reduction (str, default "sum_over_batch_size"): ``"sum_over_batch_size"`` or
            ``"mean"`` (sum(values * weight) / values.size), ``"sum"``, or ``"none"``
            (the weighted values themselves).

    Returns:
        Tensor: a scalar, or the weighted values for ``"none"``.

    Raises:
        ValueError: if ``sample_weight`` does not fit ``values``.

    Example:
        >>> float(losses.reduce_loss(mg.Tensor([1., 3.]), sample_weight=[1., 0.]).numpy())
        0.5
    """
    if sample_weight is not None:
        values = values * _sample_weight(sample_weight, values)
    if reduction == "none" or values.ndim == 0:
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    return total / values.size if values.size else total * 0


# ----------------------------------------------------------------------------------------
# Differentiable pieces written as single ops
# ----------------------------------------------------------------------------------------

# ----------------------------------------------------------------------------------------
# Function forms: one value per sample
# ----------------------------------------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """Mean squared error of each sample (also ``mse`` and ``MSE``).

    Formula:
        mean((y_pred - y_true)^2) over the last axis

    Args:
        y_true (array-like): the targets, with ``y_pred``'s shape (a trailing axis of
            size 1 may be added or missing).
        y_pred (Tensor or array-like): the predictions, (batch, ..., d).

    Returns:
        Tensor of shape ``y_pred.shape[:-1]``: one value per sample.

    Raises:
        ValueError: if the shapes do not match (or ``axis`` is out of range).

    Example:
        >>> losses.mean_squared_error([[0., 1.]], [[1., 3.]]).numpy().tolist()
        [2.5]
    """
    y_pred = _prediction(y_pred)
    y_true = _targets(y_true, y_pred, "mean_squared_error")
    return ops.mean(ops.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean absolute error of each sample (also ``mae`` and ``MAE``).

    Formula:
        mean(|y_pred - y_true|) over the last axis

    Args:
        y_true (array-like): the targets, with ``y_pred``'s shape (a trailing axis of
            size 1 may be added or missing).
        y_pred (Tensor or array-like): the predictions, (batch, ..., d).

    Returns:
        Tensor of shape ``y_pred.shape[:-1]``: one value per sample.

    Raises:
        ValueError: if the shapes do not match (or ``axis`` is out of range).

    Example:
        >>> losses.mean_absolute_error([[0., 1.]], [[1., 3.]]).numpy().tolist()
        [1.5]
    """
    y_pred = _prediction(y_pred)
    y_true = _targets(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs(y_pred - y_true), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Huber loss of each sample: squared for small errors, linear beyond ``delta``.

    Formula (e = y_pred - y_true):
        mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2) over the last axis

    Args:
        y_true (array-like): the targets, with ``y_pred``'s shape (a trailing axis of
            size 1 may be added or missing).
        y_pred (Tensor or array-like): the predictions, (batch, ..., d).
        delta (float, default 1.0): the error size where the square turns into a line.

    Returns:
        Tensor of shape ``y_pred.shape[:-1]``: one value per sample.

    Raises:
        ValueError: if the shapes do not match (or ``axis`` is out of range).

    Example:
        >>> losses.huber([[0., 0.]], [[0.5, 3.]]).numpy().tolist()
        [1.3125]
    """
    y_pred = _prediction(y_pred)
    y_true = _targets(y_true, y_pred, "huber")
    error = y_pred - y_true
    abs_error = ops.abs(error)
    small = abs_error.data <= delta
    quadratic = ops.square(error) * 0.5
    linear = abs_error * delta - 0.5 * delta * delta
    return ops.mean(ops.where(small, quadratic, linear), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy of each sample, for targets in [0, 1].

    Formula (p = y_pred clipped to [eps, 1 - eps], eps = ``mg.config.epsilon()``):
        mean(-(t log p + (1 - t) log(1 - p))) over ``axis``
        from_logits: mean(max(x, 0) - x t + log(1 + exp(-|x|))), x = y_pred

    Args:
        y_true (array-like): the targets, with ``y_pred``'s shape (a trailing axis of
            size 1 may be added or missing).
        y_pred (Tensor or array-like): probabilities in [0, 1], or logits with
            ``from_logits=True``.
        from_logits (bool, default False): ``y_pred`` holds raw scores (more stable).
        label_smoothing (float, default 0.0): s in [0, 1]; targets become t (1 - s) + s / 2.
        axis (int, default -1): the axis averaged away.

    Returns:
        Tensor: one value per sample, ``y_pred``'s shape without ``axis``.

    Raises:
        ValueError: if the shapes do not match (or ``axis`` is out of range).

    Example:
        >>> losses.binary_crossentropy([[1., 0.]], [[0.5, 0.5]]).numpy().round(4).tolist()
        [0.6931]
    """
    y_pred = _prediction(y_pred)
    y_true = _targets(y_true, y_pred, "binary_crossentropy")
    _check_axis(axis, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return ops.mean(sigmoid_cross_entropy_with_logits(y_true, y_pred), axis=axis)
    eps = config.epsilon()
    p = ops.clip(y_pred, eps, 1 - eps)
    log_likelihood = ops.log(p) * y_true + ops.log(1 - p) * (1 - y_true)
    return -ops.mean(log_likelihood, axis=axis)


def _categorical(y_true, y_pred, from_logits, axis):
    """-sum(t log p) over ``axis``; y_true an ndarray of y_pred's shape."""
    if from_logits:
        log_p = ops.log_softmax(y_pred, axis=axis)
    else:
        eps = config.epsilon()
        p = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
        log_p = ops.log(ops.clip(p, eps, 1 - eps))
    return -ops.sum(log_p * y_true, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                             axis=-1):
    """Categorical cross-entropy of each sample, for one-hot (or soft) targets.

    Formula (p = y_pred / sum(y_pred) clipped to [eps, 1 - eps]):
        -sum(t log p) over ``axis``
        from_logits: -sum(t log_softmax(y_pred)) over ``axis``

    Args:
        y_true (array-like): one-hot or soft targets, ``y_pred``'s shape.
        y_pred (Tensor or array-like): class probabilities, or logits with
            ``from_logits=True``, (batch, ..., num_classes).
        from_logits (bool, default False): ``y_pred`` holds raw scores (more stable).
        label_smoothing (float, default 0.0): s in [0, 1]; targets become
            t (1 - s) + s / num_classes.
        axis (int, default -1): the class axis.

    Returns:
        Tensor: one value per sample, ``y_pred``'s shape without ``axis``.

    Raises:
        ValueError: if the shapes do not match (or ``axis`` is out of range).

    Example:
        >>> losses.categorical_crossentropy([[0., 1.]], [[0.5, 0.5]]).numpy().round(4).tolist()
        [0.6931]
    """
    y_pred = _prediction(y_pred)
    y_true = _targets(y_true, y_pred, "categorical_crossentropy")
    _check_axis(axis, y_pred, "categorical_crossentropy")
    if label_smoothing:
        y_true = y_true * (1 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    return _categorical(y_true, y_pred, from_logits, axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Categorical cross-entropy of each sample, for integer class labels.

    Formula:
        -log p[label] (p = y_pred normalised and clipped as in categorical_crossentropy)
        from_logits: -log_softmax(y_pred)[label]

    Args:
        y_true (array-like of int): labels in [0, num_classes), shape ``y_pred.shape[:-1]``
            (or with a trailing axis of size 1).
        y_pred (Tensor or array-like): (..., num_classes) probabilities, or logits with
            ``from_logits=True``.
        from_logits (bool, default False): ``y_pred`` holds raw scores (more stable).
        axis (int, default -1): the class axis.

    Returns:
        Tensor of shape ``y_true``'s: one value per sample.

    Raises:
        ValueError: for labels that are not integers in [0, num_classes), or a shape that
            does not fit ``y_pred``.

    Example:
        >>> losses.sparse_categorical_crossentropy([1], [[0.25, 0.75]]).numpy().round(4).tolist()
        [0.2877]
    """
    loss = "sparse_categorical_crossentropy"
    y_pred = _prediction(y_pred)
    _check_axis(axis, y_pred, loss)
    if axis % y_pred.ndim != y_pred.ndim - 1:
        y_pred = ops.transpose(y_pred, [i for i in range(y_pred.ndim) if i != axis % y_pred.ndim]
                               + [axis % y_pred.ndim])
    labels = _array(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"{loss}: y_true must hold one integer label per sample, shape "
                         f"{y_pred.shape[:-1]} for y_pred of shape {y_pred.shape}; got y_true "
                         f"shape {_array(y_true).shape}.")
    if labels.dtype.kind not in "biuf" or (labels.dtype.kind == "f" and
                                          not np.all(labels == np.round(labels))):
        raise ValueError(f"{loss}: y_true must hold integer class labels, got values of "
                         f"dtype {labels.dtype}.")
    labels = labels.astype(np.int64)
    num_classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise ValueError(f"{loss}: labels must be in [0, {num_classes}) for y_pred with "
                         f"{num_classes} classes, got label {bad}.")
    if from_logits:                  # one op: log_softmax, the pick and the sum fused
        return sparse_softmax_cross_entropy_with_logits(labels, y_pred)
    one_hot = (labels[..., None] == np.arange(num_classes)).astype(y_pred.dtype)
    return _categorical(one_hot, y_pred, False, -1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
