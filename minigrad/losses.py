"""Losses: how far predictions are from targets, as a differentiable scalar.

Two forms, as in Keras:

* functions ``mean_squared_error(y_true, y_pred)`` ... return one value per sample
  (the last axis is averaged or summed away): shape ``y_pred.shape[:-1]``;
* classes ``MeanSquaredError()`` ... are called as ``loss(y_true, y_pred, sample_weight)``
  and reduce those per-sample values to a scalar Tensor. The default reduction
  ``"sum_over_batch_size"`` is ``sum(values * sample_weight) / values.size`` — a mean
  over samples, where weights scale but do not change the divisor.

Per-sample formulas (``p`` = y_pred, ``t`` = y_true, mean / sum over the last axis)::

    mean_squared_error               mean((p - t)^2)
    mean_absolute_error              mean(|p - t|)
    huber(delta)                     mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2)
    binary_crossentropy              mean(-(t log p + (1-t) log(1-p))),  p clipped to [eps, 1-eps]
        from_logits                  mean(max(x, 0) - x t + log(1 + e^-|x|))     (x = logits)
    categorical_crossentropy         -sum(t log p),  p normalised to sum 1, clipped to [eps, 1-eps]
        from_logits                  -sum(t log_softmax(x))
    sparse_categorical_crossentropy  the same with integer labels (shape y_pred.shape[:-1])

``eps`` is ``mg.config.epsilon()`` (1e-7). ``label_smoothing`` s replaces t by
``t (1 - s) + s / 2`` (binary) or ``t (1 - s) + s / num_classes`` (categorical).

Only ``y_pred`` is differentiated; ``y_true`` and ``sample_weight`` are constants.

The function forms and :func:`reduce_loss` live in ``minigrad/loss_functions.py`` (and are
exported here); this module has the classes and the lookup (:func:`get`).
"""
import numbers

import numpy as np

from .loss_functions import (  # noqa: F401  (the function forms are minigrad.losses names too)
    MAE, MSE, _REDUCTIONS, _array, _check_label_smoothing, _sample_weight, binary_crossentropy,
    categorical_crossentropy, huber, mae, mean_absolute_error, mean_squared_error, mse,
    reduce_loss, sparse_categorical_crossentropy)
from .registry import Configurable, Registry
from .tensor import Tensor

REGISTRY = Registry("loss")


# ----------------------------------------------------------------------------------------
# Loss classes: per-sample values reduced to a scalar
# ----------------------------------------------------------------------------------------

class Loss(Configurable):
    """Base of the loss classes: ``loss(y_true, y_pred, sample_weight=None)`` -> Tensor.

    Subclasses implement ``call(y_true, y_pred)`` (the per-sample values); calling the
    object weights and reduces them with :func:`reduce_loss`.

    Args:
        name (str or None, default None): the loss's name; None uses its registered name
            (``"mean_squared_error"``, ...).
        reduction (str or None, default "sum_over_batch_size"): ``"sum_over_batch_size"``
            (``"mean"`` is the same), ``"sum"``, or ``"none"`` / None (return the weighted
            per-sample values).

    Raises:
        ValueError: for any other ``reduction``.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction is None:
            reduction = "none"
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`: expected one of "
                             f"{_REDUCTIONS} or None. Received: reduction={reduction!r}")
        self.name = name or _default_name(type(self))
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        return reduce_loss(values, sample_weight, self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _default_name(cls):
    return REGISTRY.name_of(cls) or cls.__name__


class LossFunctionWrapper(Loss):
    """Turn a per-sample function ``fn(y_true, y_pred, **kwargs)`` into a Loss.

    Args:
        fn (callable): returns one loss per sample (a Tensor or array).
        name (str or None, default None): None uses ``fn.__name__``.
        reduction (str, default "sum_over_batch_size"): as for :class:`Loss`.
        **kwargs: passed to ``fn`` on every call (and kept in ``get_config``).

    Example:
        >>> loss = losses.LossFunctionWrapper(losses.huber, delta=0.5)
        >>> float(loss([[0.], [0.]], [[1.], [0.]]).numpy())
        0.1875
    """

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        values = self.fn(y_true, y_pred, **self.fn_kwargs)
        return values if isinstance(values, Tensor) else Tensor(values)

    def get_config(self):
        config = super().get_config()
        config.update(self.fn_kwargs)
        return config


@REGISTRY.register("mean_squared_error", "MeanSquaredError", "mse", "MSE")
class MeanSquaredError(Loss):
    """Mean squared error, reduced over the samples.

    Formula:
        mean((y_pred - y_true)^2) over the last axis, then ``reduction`` over samples

    Args:
        reduction (str, default "sum_over_batch_size"): as for :class:`Loss`.
        name (str or None, default None): None means ``"mean_squared_error"``.

    Example:
        >>> float(losses.MeanSquaredError()([[0.], [1.]], [[1.], [3.]]).numpy())
        2.5
    """

    def __init__(self, reduction="sum_over_batch_size", name=None):
        super().__init__(name, reduction)

    def call(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)


@REGISTRY.register("mean_absolute_error", "MeanAbsoluteError", "mae", "MAE")
class MeanAbsoluteError(Loss):
    """Mean absolute error, reduced over the samples.

    Formula:
        mean(|y_pred - y_true|) over the last axis, then ``reduction`` over samples

    Args:
        reduction (str, default "sum_over_batch_size"): as for :class:`Loss`.
        name (str or None, default None): None means ``"mean_absolute_error"``.

    Example:
        >>> float(losses.MeanAbsoluteError()([[0.], [1.]], [[1.], [3.]]).numpy())
        1.5
    """

    def __init__(self, reduction="sum_over_batch_size", name=None):
        super().__init__(name, reduction)

    def call(self, y_true, y_pred):
        return mean_absolute_error(y_true, y_pred)


@REGISTRY.register("huber_loss", "Huber", "huber")
class Huber(Loss):
    """Huber loss: quadratic for |error| <= delta, linear beyond (robust to outliers).

    Formula: see :func:`huber`, then ``reduction`` over samples.

    Args:
        delta (float, default 1.0): the error size where the square turns into a line (> 0).
        reduction (str, default "sum_over_batch_size"): as for :class:`Loss`.
        name (str or None, default None): None means ``"huber_loss"``.

    Raises:
        ValueError: if ``delta`` is not a positive number.

    Example:
        >>> float(losses.Huber()([[0.], [0.]], [[0.5], [3.]]).numpy())
        1.3125
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(name, reduction)
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta > 0:
            raise ValueError(f"Huber: `delta` must be a positive float. Received: "
                             f"delta={delta!r}")
        self.delta = float(delta)

    def call(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


def _check_bool(value, argument, owner):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: `{argument}` must be a boolean. Received: "
                         f"{argument}={value!r}")
    return bool(value)


@REGISTRY.register("binary_crossentropy", "BinaryCrossentropy")
class BinaryCrossentropy(Loss):
    """Binary cross-entropy for 0/1 targets, reduced over the samples.

    Formula: see :func:`binary_crossentropy`, then ``reduction`` over samples.

    Args:
        from_logits (bool, default False): ``y_pred`` holds raw scores (more stable).
        label_smoothing (float, default 0.0): s in [0, 1]; targets become t (1 - s) + s / 2.
        axis (int, default -1): the axis averaged away per sample.
        reduction (str, default "sum_over_batch_size"): as for :class:`Loss`.
        name (str or None, default None): None means ``"binary_crossentropy"``.

    Raises:
        ValueError: if ``from_logits`` is not a bool or ``label_smoothing`` not in [0, 1].

    Example:
        >>> loss = losses.BinaryCrossentropy(from_logits=True)
        >>> round(float(loss([[1.], [0.]], [[0.], [0.]]).numpy()), 4)
        0.6931
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(name, reduction)
        self.from_logits = _check_bool(from_logits, "from_logits", "BinaryCrossentropy")
        self.label_smoothing = _check_label_smoothing(label_smoothing, "BinaryCrossentropy")
        self.axis = axis

    def call(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing,
                                   self.axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@REGISTRY.register("categorical_crossentropy", "CategoricalCrossentropy")
class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy for one-hot (or soft) targets, reduced over the samples.

    Formula: see :func:`categorical_crossentropy`, then ``reduction`` over samples.

    Args:
        from_logits (bool, default False): ``y_pred`` holds raw scores (more stable).
        label_smoothing (float, default 0.0): s in [0, 1]; targets become
            t (1 - s) + s / num_classes.
        axis (int, default -1): the class axis.
        reduction (str, default "sum_over_batch_size"): as for :class:`Loss`.
        name (str or None, default None): None means ``"categorical_crossentropy"``.

    Raises:
        ValueError: if ``from_logits`` is not a bool or ``label_smoothing`` not in [0, 1].

    Example:
        >>> loss = losses.CategoricalCrossentropy()
        >>> round(float(loss([[0., 1.]], [[0.25, 0.75]]).numpy()), 4)
        0.2877
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(name, reduction)
        self.from_logits = _check_bool(from_logits, "from_logits", "CategoricalCrossentropy")
        self.label_smoothing = _check_label_smoothing(label_smoothing,
                                                      "CategoricalCrossentropy")
        self.axis = axis

    def call(self, y_true, y_pred):
        return categorical_crossentropy(y_true, y_pred, self.from_logits,
                                        self.label_smoothing, self.axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@REGISTRY.register("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")
class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy for integer labels, reduced over the samples.

    Formula: see :func:`sparse_categorical_crossentropy`, then ``reduction`` over samples.

    Args:
        from_logits (bool, default False): ``y_pred`` holds raw scores (more stable).
        ignore_class (int or None, default None): a label value (e.g. -1 or 255 for "no
            label") whose samples contribute nothing: their loss is 0 and
            ``"sum_over_batch_size"`` divides by the number of the other samples only.
        axis (int, default -1): the class axis.
        reduction (str, default "sum_over_batch_size"): as for :class:`Loss`.
        name (str or None, default None): None means ``"sparse_categorical_crossentropy"``.

    Raises:
        ValueError: if ``from_logits`` is not a bool or ``ignore_class`` not an int.

    Example:
        >>> loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
        >>> round(float(loss([1, -1], [[0.25, 0.75], [0.5, 0.5]]).numpy()), 4)
        0.2877
    """

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(name, reduction)
        self.from_logits = _check_bool(from_logits, "from_logits",
                                       "SparseCategoricalCrossentropy")
        if ignore_class is not None and (isinstance(ignore_class, bool) or
                                         not isinstance(ignore_class, numbers.Integral)):
            raise ValueError(f"SparseCategoricalCrossentropy: `ignore_class` must be an "
                             f"integer or None. Received: ignore_class={ignore_class!r}")
        self.ignore_class = ignore_class
        self.axis = axis

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.ignore_class is None:
            return super().__call__(y_true, y_pred, sample_weight)
        labels = _array(y_true)
        valid = labels != self.ignore_class
        values = self.call(np.where(valid, labels, 0), y_pred)
        valid = valid.reshape(values.shape)
        weight = valid if sample_weight is None else \
            _sample_weight(sample_weight, values) * valid
        values = reduce_loss(values, weight, "sum" if self.reduction != "none" else "none")
        if self.reduction in ("sum_over_batch_size", "mean") and values.ndim == 0:
            values = values / max(int(valid.sum()), 1)
        return values

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits, self.axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


# ----------------------------------------------------------------------------------------
# Lookup
# ----------------------------------------------------------------------------------------

# A Loss as a Keras-style dict (None stays None), and back.
serialize = REGISTRY.serialize
deserialize = REGISTRY.deserialize


def get(identifier):
    """A Loss object from a name, class, instance, config dict or function.

    Strings (``"mse"``, ``"sparse_categorical_crossentropy"``, class names, ...) and
    classes give an instance with default arguments; a plain function returning
    per-sample values is wrapped in :class:`LossFunctionWrapper`, so every result is
    called as ``loss(y_true, y_pred, sample_weight=None)`` and returns a scalar Tensor.

    Args:
        identifier (str, type, Loss, dict, callable or None): what to look up.

    Returns:
        Loss or None: None for None.

    Raises:
        ValueError: for anything else, listing the valid names.

    Example:
        >>> losses.get("mse")
        <MeanSquaredError name='mean_squared_error'>
    """
    return REGISTRY.resolve(identifier, Loss, wrap_callable=LossFunctionWrapper)
