"""Sample and class weights for ``fit``/``evaluate``: the checks, and ``class_weight``
turned into per-sample weights.

How weights reduce (as in Keras): the loss of a batch is ``sum(loss_i * w_i) / batch
size`` (not divided by the sum of the weights), the epoch loss is the batch losses'
mean weighted by batch size, and weighted metrics are ``sum(m_i w_i) / sum(w_i)``.
``class_weight={class: weight}`` turns into per-sample weights: ``w_i =
class_weight[label_i]`` (the label is the argmax of a one-hot ``y``).

Every name here is also a ``minigrad.data_adapter`` name (the rest of the data side of
``fit``: batches from arrays or iterables, ``steps_per_epoch``, ``validation_freq``).
"""
import math
import numbers

import numpy as np

from .tensor import Tensor

CLASSIFICATION_LOSSES = ("crossentropy", "hinge")


# ------------------------------------------------------------------------ weights
def check_sample_weight(sample_weight, n, argument="sample_weight"):
    """``sample_weight`` as a float array with ``n`` rows (one weight per sample, or per
    element of each sample's target); ValueError naming ``argument`` otherwise.

    Args:
        sample_weight (array-like): the weights.
        n (int): the number of samples.
        argument (str, default "sample_weight"): the name in the error message.

    Returns:
        ndarray
    """
    if sample_weight is None:
        return None
    weight = sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight
    try:
        weight = np.asarray(weight)
    except (TypeError, ValueError) as e:
        raise TypeError(f"`{argument}` must be an array of numbers, one per sample; "
                        f"received {type(sample_weight).__name__} ({e}).") from None
    if weight.dtype.kind not in "biuf":
        raise TypeError(f"`{argument}` must hold numbers; received dtype {weight.dtype}.")
    if weight.ndim == 0 or len(weight) != n:
        raise ValueError(f"`{argument}` must have one entry per sample: length {n}. "
                         f"Received shape {weight.shape}.")
    if not np.all(np.isfinite(weight)):
        raise ValueError(f"`{argument}` must be finite; it holds NaN or infinity.")
    return weight.astype(np.float64, copy=False)


def loss_name(loss):
    """A readable name of a compiled loss (object, function or wrapper).

    Args:
        loss (Loss, callable or str): the compiled loss.

    Returns:
        str
    """
    if isinstance(getattr(loss, "name", None), str):
        return loss.name
    for candidate in (getattr(loss, "fn", None), loss):
        name = getattr(candidate, "__name__", None) or type(candidate).__name__
        if name not in ("LossFunctionWrapper", "function", "NoneType"):
            return name
    return repr(loss)


def labels_of(y):
    """Integer class labels from targets: argmax of one-hot rows, else the values.

    Args:
        y (ndarray): targets: one-hot rows or labels.

    Returns:
        ndarray of int
    """
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] != 1:
        y = np.argmax(y, axis=-1)
    elif y.ndim > 1:
        y = y[..., 0]
    return np.round(y).astype(np.int64)


def check_class_weight(class_weight, loss):
    """Validate ``class_weight`` (a dict {class index: weight}) against the loss.

    Args:
        class_weight (dict or None): ``{class index: weight}``.
        loss (Loss, callable, str or list): the compiled loss (a list: several outputs).

    Raises:
        TypeError: if ``class_weight`` is not a non-empty dict. ValueError: for keys that
            are not class indices, weights that are not finite numbers >= 0, a loss that
            is not a crossentropy, or a model with several outputs.
    """
    if class_weight is None:
        return None
    if isinstance(loss, (list, tuple)):
        raise ValueError("`class_weight` is only supported for models with a single output; "
                         "pass `sample_weight` instead.")
    if not isinstance(class_weight, dict) or not class_weight:
        raise TypeError(f"`class_weight` must be a non-empty dict {{class index: weight}}. "
                        f"Received: class_weight={class_weight!r}")
    for key, value in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, numbers.Integral) or key < 0:
            raise ValueError(f"`class_weight` keys must be class indices (integers >= 0). "
                             f"Received the key {key!r}.")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not math.isfinite(value) or value < 0:
            raise ValueError(f"`class_weight` values must be finite numbers >= 0. Received "
                             f"class_weight[{key}]={value!r}.")
    name = loss_name(loss)
    if not any(word in _snake(name) for word in CLASSIFICATION_LOSSES):
        raise ValueError(f"`class_weight` needs a classification loss (a crossentropy); the "
                         f"compiled loss is {name}. Use `sample_weight` to weight samples "
                         "of other losses.")
    return {int(k): float(v) for k, v in class_weight.items()}


def class_weights_to_sample_weights(y, class_weight, argument="y"):
    """Per-sample weights ``class_weight[label_i]``; ValueError if a class present in
    ``y`` has no weight.

    Args:
        y (ndarray): the targets.
        class_weight (dict): ``{class index: weight}``.
        argument (str, default "y"): the name in the error message.

    Returns:
        ndarray: one weight per sample.
    """
    labels = labels_of(y)
    missing = sorted(set(np.unique(labels).tolist()) - set(class_weight))
    if missing:
        raise ValueError(f"`class_weight` has no weight for class(es) {missing}, which "
                         f"appear in `{argument}`. Give a weight for every class "
                         f"(classes weighted so far: {sorted(class_weight)}).")
    table = np.zeros(max(max(class_weight), labels.max(initial=0)) + 1)
    for k, v in class_weight.items():
        table[k] = v
    return table[labels]


def combine_weights(sample_weight, class_weight, y, argument="y"):
    """The weights a batch trains with: ``sample_weight`` or the class weights of ``y``
    (both at once is an error, as in Keras).

    Args:
        sample_weight (array-like or None): per-sample weights.
        class_weight (dict or None): per-class weights.
        y (ndarray): the targets.
        argument (str, default "y"): the name in the error message.

    Returns:
        ndarray or None
    """
    if class_weight is None:
        return sample_weight
    if sample_weight is not None:
        raise ValueError("You cannot use `class_weight` and `sample_weight` at the same "
                         "time (a batch that carries its own sample weights counts too).")
    return class_weights_to_sample_weights(y, class_weight, argument)


def _snake(name):
    return "".join(("_" + c.lower()) if c.isupper() else c for c in name).lstrip("_")
