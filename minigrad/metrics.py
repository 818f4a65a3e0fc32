"""Metrics: running averages of a quality measure over the batches of an epoch.

A metric is a small stateful object, computed with plain NumPy (never on the tape)::

    m = metrics.SparseCategoricalAccuracy()
    m.update_state(y_true_batch1, y_pred_batch1)
    m.update_state(y_true_batch2, y_pred_batch2)
    m.result()          # accuracy over both batches (weighted by sample count)
    m.reset_state()     # start a new epoch

Every metric here is a weighted mean of one value per sample:

    Accuracy                    y_pred == y_true                        (exact match)
    BinaryAccuracy(threshold)   (y_pred > threshold) == y_true          (mean over last axis)
    CategoricalAccuracy         argmax(y_pred) == argmax(y_true)
    SparseCategoricalAccuracy   argmax(y_pred) == y_true                (integer labels)
    MeanSquaredError            mean((y_pred - y_true)^2) over the last axis
    MeanAbsoluteError           mean(|y_pred - y_true|) over the last axis
    Mean                        mean of the values given to update_state

``get("accuracy", loss=...)`` picks the accuracy that fits the loss, as ``compile`` does.
"""
import numbers

import numpy as np

from .registry import Configurable, Registry
from .tensor import Tensor

REGISTRY = Registry("metric")


def _array(value):
    return np.asarray(value.data if isinstance(value, Tensor) else value)


def _match_shapes(y_true, y_pred, metric):
    """Add or drop a trailing axis of size 1 on ``y_true`` when ranks differ by one, then
    require equal shapes."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1:] == (1,):
        y_true = y_true[..., None]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1:] == (1,):
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{metric}: y_true and y_pred must have the same shape, got y_true "
                         f"shape {y_true.shape} and y_pred shape {y_pred.shape}.")
    return y_true


class Metric(Configurable):
    """Base class: keeps ``total`` (weighted sum) and ``count`` (sum of weights).

    Subclasses give one value per sample in :meth:`values`; ``update_state(y_true, y_pred,
    sample_weight=None)`` adds a batch, ``result()`` is ``total / count``, and calling the
    metric does both.

    Args:
        name (str or None, default None): the key in ``history`` and the progress bar; None
            uses the registered name (the class name if unregistered).
        dtype (str or None, default None): accepted for Keras compatibility; results are
            Python floats computed in float64.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or REGISTRY.name_of(type(self)) or type(self).__name__
        self.dtype = np.dtype(dtype or "float64")
        self.reset_state()

    def reset_state(self):
        """Forget every update (call at the start of each epoch)."""
        self.total = 0.0
        self.count = 0.0

    def _add(self, values, sample_weight=None):
        values = np.asarray(values, dtype=np.float64)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += float(values.size)
            return
        weight = _array(sample_weight).astype(np.float64)
        while weight.ndim > values.ndim and weight.shape[-1] == 1:
            weight = weight[..., 0]
        while weight.ndim < values.ndim:
            weight = weight[..., None]
        try:
            weight = np.broadcast_to(weight, values.shape)
        except ValueError:
            raise ValueError(f"{self.name}: sample_weight of shape "
                             f"{_array(sample_weight).shape} does not fit the values of "
                             f"shape {values.shape}.") from None
        self.total += float((values * weight).sum())
        self.count += float(weight.sum())

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add one batch.

        Args:
            y_true (array-like): the targets.
            y_pred (array-like): the predictions.
            sample_weight (array-like or None, default None): one weight per sample; None
                weighs every sample 1.

        Raises:
            ValueError: if the shapes do not fit.
        """
        self._add(self.values(_array(y_true), _array(y_pred)), sample_weight)

    def values(self, y_true, y_pred):
        """One value per sample (ndarrays in, ndarray out).

        Args:
            y_true (ndarray): the targets.
            y_pred (ndarray): the predictions.

        Returns:
            ndarray: one value per sample.
        """
        raise NotImplementedError

    def result(self):
        """The weighted mean so far, as a Python float (0.0 before any update)."""
        return self.total / self.count if self.count else 0.0

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the running result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype.name}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} result={self.result():.4g}>"


@REGISTRY.register("mean", "Mean")
class Mean(Metric):
    """The (weighted) mean of every value passed to ``update_state(values)``.

    Formula:
        result = sum(w * v) / sum(w) over every value v passed so far (w = 1 by default)

    Args:
        name (str or None, default None): the key in ``history`` and the progress bar; None
            uses the registered name (``"mean"``).
        dtype (str or None, default None): accepted for Keras compatibility; results are
            Python floats computed in float64.

    Example:
        >>> m = metrics.Mean()
        >>> m([1.0, 2.0, 3.0])
        2.0
        >>> m.update_state([10.0], sample_weight=[3.0])
        >>> m.result()
        6.0
    """

    def update_state(self, values, sample_weight=None):
        self._add(_array(values), sample_weight)


class MeanMetricWrapper(Metric):
    """The mean of ``fn(y_true, y_pred)``, a function giving one value per sample.

    Args:
        fn (callable): ``fn(y_true, y_pred, **kwargs)`` -> one value per sample (a loss
            function, for instance).
        name (str or None, default None): None uses ``fn.__name__``.
        dtype (str or None, default None): accepted for Keras compatibility.
        **kwargs: passed to ``fn`` on every update.

    Example:
        >>> metrics.MeanMetricWrapper(losses.huber, delta=0.5)([[0.], [0.]], [[1.], [0.]])
        0.1875
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self.fn, self.fn_kwargs = fn, kwargs
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric"), dtype=dtype)

    def values(self, y_true, y_pred):
        out = self.fn(y_true, y_pred, **self.fn_kwargs)
        return _array(out)


@REGISTRY.register("accuracy", "Accuracy")
class Accuracy(Metric):
    """How often ``y_pred`` equals ``y_true`` exactly.

    Formula:
        mean(y_pred == y_true), weighted over the samples

    Args:
        name (str or None, default None): the key in ``history`` and the progress bar; None
            uses the registered name (``"accuracy"``).
        dtype (str or None, default None): accepted for Keras compatibility; results are
            Python floats computed in float64.

    Example:
        >>> metrics.Accuracy()([[1], [2]], [[1], [3]])
        0.5
    """

    def values(self, y_true, y_pred):
        y_true = _match_shapes(y_true, y_pred, self.name)
        return (y_true == y_pred).astype(np.float64)


@REGISTRY.register("binary_accuracy", "BinaryAccuracy")
class BinaryAccuracy(Metric):
    """How often ``y_pred > threshold`` matches the 0/1 ``y_true`` (mean over the last
    axis per sample).

    Formula:
        mean((y_pred > threshold) == y_true) over the last axis, then over samples

    Args:
        name (str or None, default None): the key in ``history`` and the progress bar; None
            uses the registered name (``"binary_accuracy"``).
        dtype (str or None, default None): accepted for Keras compatibility; results are
            Python floats computed in float64.
        threshold (float, default 0.5): a prediction above it counts as 1.

    Example:
        >>> metrics.BinaryAccuracy()([[1.], [0.]], [[0.7], [0.6]])
        0.5
    """

    def __init__(self, name=None, dtype=None, threshold=0.5):
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise ValueError(f"BinaryAccuracy: `threshold` must be a float. Received: "
                             f"threshold={threshold!r}")
        self.threshold = float(threshold)
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        y_true = _match_shapes(y_true, y_pred, self.name)
        hits = (y_true == (y_pred > self.threshold)).astype(np.float64)
        return hits.mean(axis=-1) if hits.ndim else hits

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


@REGISTRY.register("categorical_accuracy", "CategoricalAccuracy")
class CategoricalAccuracy(Metric):
    """How often the predicted class (argmax) is the one-hot target's class.

    Formula:
        mean(argmax(y_pred) == argmax(y_true)), argmax over the last axis

    Args:
        name (str or None, default None): the key in ``history`` and the progress bar; None
            uses the registered name (``"categorical_accuracy"``).
        dtype (str or None, default None): accepted for Keras compatibility; results are
            Python floats computed in float64.

    Example:
        >>> metrics.CategoricalAccuracy()([[0., 1.], [1., 0.]], [[0.2, 0.8], [0.3, 0.7]])
        0.5
    """

    def values(self, y_true, y_pred):
        y_true = _match_shapes(y_true, y_pred, self.name)
        if y_pred.ndim == 0:
            raise ValueError(f"{self.name}: y_pred must have a class axis, got a scalar.")
        return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


@REGISTRY.register("sparse_categorical_accuracy", "SparseCategoricalAccuracy")
class SparseCategoricalAccuracy(Metric):
    """How often the predicted class (argmax of y_pred) equals the integer label.

    Formula:
        mean(argmax(y_pred) == y_true), argmax over the last axis

    Args:
        name (str or None, default None): the key in ``history`` and the progress bar; None
            uses the registered name (``"sparse_categorical_accuracy"``).
        dtype (str or None, default None): accepted for Keras compatibility; results are
            Python floats computed in float64.

    Example:
        >>> m = metrics.SparseCategoricalAccuracy()
        >>> m([1, 0], [[0.2, 0.8], [0.3, 0.7]])
        0.5
        >>> m([0], [[0.9, 0.1]])
        0.6666666666666666
    """

    def values(self, y_true, y_pred):
        if y_pred.ndim == 0:
            raise ValueError(f"{self.name}: y_pred must have a class axis, got a scalar.")
        labels = y_true
        if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
            labels = labels[..., 0]
        if labels.shape != y_pred.shape[:-1]:
            raise ValueError(f"{self.name}: y_true must hold one integer label per sample, "
                             f"shape {y_pred.shape[:-1]} for y_pred of shape {y_pred.shape}; "
                             f"got y_true shape {y_true.shape}.")
        return (labels == np.argmax(y_pred, axis=-1)).astype(np.float64)


@REGISTRY.register("mean_squared_error", "MeanSquaredError", "mse", "MSE")
class MeanSquaredError(Metric):
    """Mean of (y_pred - y_true)^2 (over the last axis, then over samples).

    Args:
        name (str or None, default None): the key in ``history`` and the progress bar; None
            uses the registered name (``"mean_squared_error"``).
        dtype (str or None, default None): accepted for Keras compatibility; results are
            Python floats computed in float64.

    Example:
        >>> metrics.MeanSquaredError()([[0.], [1.]], [[1.], [3.]])
        2.5
    """

    def values(self, y_true, y_pred):
        y_true = _match_shapes(y_true, y_pred, self.name)
        sq = np.square(y_pred.astype(np.float64) - y_true)
        return sq.mean(axis=-1) if sq.ndim else sq


@REGISTRY.register("mean_absolute_error", "MeanAbsoluteError", "mae", "MAE")
class MeanAbsoluteError(Metric):
    """Mean of |y_pred - y_true| (over the last axis, then over samples).

    Args:
        name (str or None, default None): the key in ``history`` and the progress bar; None
            uses the registered name (``"mean_absolute_error"``).
        dtype (str or None, default None): accepted for Keras compatibility; results are
            Python floats computed in float64.

    Example:
        >>> metrics.MeanAbsoluteError()([[0.], [1.]], [[1.], [3.]])
        1.5
    """

    def values(self, y_true, y_pred):
        y_true = _match_shapes(y_true, y_pred, self.name)
        err = np.abs(y_pred.astype(np.float64) - y_true)
        return err.mean(axis=-1) if err.ndim else err


REGISTRY.add("acc", Accuracy)


# ----------------------------------------------------------------------------------------
# Lookup
# ----------------------------------------------------------------------------------------

def _accuracy_for(loss):
    """The accuracy class that fits ``loss`` (an object, class, function or name)."""
    from . import losses
    if isinstance(loss, str):
        try:
            loss = losses.REGISTRY.lookup(loss)
        except ValueError:
            return Accuracy
    cls = loss if isinstance(loss, type) else type(loss)
    fn = getattr(loss, "fn", loss)          # a LossFunctionWrapper's function
    if issubclass(cls, losses.SparseCategoricalCrossentropy) or \
            fn is losses.sparse_categorical_crossentropy:
        return SparseCategoricalAccuracy
    if issubclass(cls, losses.CategoricalCrossentropy) or \
            fn is losses.categorical_crossentropy:
        return CategoricalAccuracy
    if issubclass(cls, losses.BinaryCrossentropy) or fn is losses.binary_crossentropy:
        return BinaryAccuracy
    return Accuracy


# A Metric as a Keras-style dict (None stays None), and back.
serialize = REGISTRY.serialize
deserialize = REGISTRY.deserialize


def get(identifier, loss=None):
    """A fresh Metric from a name, class, instance, config dict or function.

    ``"accuracy"`` / ``"acc"`` depend on ``loss`` (as in ``model.compile``):
    SparseCategoricalCrossentropy -> SparseCategoricalAccuracy, CategoricalCrossentropy ->
    CategoricalAccuracy, BinaryCrossentropy -> BinaryAccuracy, anything else -> Accuracy.
    The metric keeps the name it was asked for (``"accuracy"``), so history keys match.
    A function ``fn(y_true, y_pred)`` becomes the mean of its per-sample values, and the
    loss function names (``"binary_crossentropy"`` ...) work the same way.

    Args:
        identifier (str, type, Metric, dict, callable or None): what to look up.
        loss (str, Loss, callable or None, default None): the compiled loss, which decides
            what ``"accuracy"`` means.

    Returns:
        Metric or None: None for None; an instance passes through.

    Raises:
        ValueError: for a name that is neither a metric nor a loss function.

    Example:
        >>> type(metrics.get("accuracy", loss="sparse_categorical_crossentropy")).__name__
        'SparseCategoricalAccuracy'
    """
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return _accuracy_for(loss)(name=identifier)
        if identifier in REGISTRY:
            return REGISTRY.lookup(identifier)()
        from . import losses
        fn = getattr(losses, identifier, None) if identifier in _LOSS_FUNCTIONS else None
        if fn is None:
            raise ValueError(f"Could not interpret metric identifier: {identifier}. Valid "
                             f"names: {', '.join(REGISTRY.names() + list(_LOSS_FUNCTIONS))}.")
        return MeanMetricWrapper(_numpy_loss(fn), name=identifier)
    if isinstance(identifier, dict):
        return REGISTRY.deserialize(identifier)
    if isinstance(identifier, type):
        if issubclass(identifier, Metric):
            return identifier()
        raise REGISTRY.not_understood(identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise REGISTRY.not_understood(identifier)


_LOSS_FUNCTIONS = ("binary_crossentropy", "categorical_crossentropy",
                   "sparse_categorical_crossentropy", "huber")


def _numpy_loss(fn):
    """A loss function evaluated on arrays, its result returned as an ndarray."""
    def values(y_true, y_pred):
        return fn(y_true, np.asarray(y_pred, dtype=np.float64)).data
    values.__name__ = fn.__name__
    return values
