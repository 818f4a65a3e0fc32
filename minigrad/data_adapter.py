"""The data side of ``fit``/``evaluate``/``predict``: batches coming from arrays or from a
Python iterable, ``steps_per_epoch`` and ``validation_freq``. Sample and class weights (how
they reduce, and ``class_weight`` turned into per-sample weights) are in
``minigrad/sample_weights.py``, whose names are names of this module too.

Two kinds of input reach the training loop:

* **arrays** ``x, y`` (and ``sample_weight``): cut into batches of ``batch_size``,
  reshuffled every epoch when ``shuffle``; every check runs on the whole data before the
  first step.
* **an iterable of batches** ``x = [(x0, y0), (x1, y1, w1), ...]``: each item is
  ``(x, y)`` or ``(x, y, sample_weight)``. A list or tuple of such batches (or any other
  re-iterable) is read again every epoch, and a list or tuple is checked whole before
  the first step. A generator or iterator is read once, batch by batch, so it needs
  ``steps_per_epoch`` (it may never end); each of its batches is checked before its step
  and must agree with the first one (number of items, feature shape, dtype kind).
"""
import collections.abc
import math
import numbers
import warnings

import numpy as np

from .random import make_rng
from .sample_weights import (  # noqa: F401  (the weight checks are data_adapter names too)
    CLASSIFICATION_LOSSES, _snake, check_class_weight, check_sample_weight,
    class_weights_to_sample_weights, combine_weights, labels_of, loss_name)
from .tensor import Tensor


# ------------------------------------------------------------------------ what is x?
def is_batch_iterable(x):
    """True when ``x`` is an iterable of ``(x, y[, sample_weight])`` batches rather than
    array data: a generator or iterator, a list/tuple whose items are all tuples, or any
    other iterable object that is not array-like.

    Args:
        x (object): what ``fit`` was given as ``x``.

    Returns:
        bool
    """
    if x is None or isinstance(x, (np.ndarray, Tensor, str, bytes, dict, numbers.Number)):
        return False
    if isinstance(x, collections.abc.Iterator):
        return True
    if isinstance(x, (list, tuple)):
        return len(x) > 0 and all(isinstance(item, tuple) for item in x)
    return isinstance(x, collections.abc.Iterable) and not hasattr(x, "__array__")


def is_one_shot(x):
    """A generator or iterator: it can be read only once.

    Args:
        x (object): a batch source.

    Returns:
        bool
    """
    return isinstance(x, collections.abc.Iterator)


# ------------------------------------------------------------------------ arrays
def split_for_validation(arrays, validation_split):
    """``(train arrays, validation arrays)``: the *last* ``validation_split`` fraction of
    the samples is held out, before any shuffling (as in Keras). None entries stay None.

    Args:
        arrays (list): x, y, sample_weight (None entries allowed).
        validation_split (float): the fraction held out, in [0, 1).

    Returns:
        tuple: ``(train arrays, validation arrays)``.
    """
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) \
            or not 0.0 <= validation_split < 1.0:
        raise ValueError(f"`validation_split` must be a float in [0, 1). Received: "
                         f"validation_split={validation_split!r}")
    n = len(arrays[0])
    if validation_split == 0:
        return arrays, None
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not enough "
                         f"to split into a training and a validation set with "
                         f"validation_split={validation_split}.")
    return ([None if a is None else a[:split_at] for a in arrays],
            [None if a is None else a[split_at:] for a in arrays])


def _check_count(value, argument, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        expected = "a positive integer" + (" or None" if allow_none else "")
        raise ValueError(f"`{argument}` must be {expected}. Received: {argument}={value!r}")
    return int(value)


def check_steps_per_epoch(steps_per_epoch):
    """``steps_per_epoch`` as a positive int, or None.

    Args:
        steps_per_epoch (int or None): the argument of ``fit``.

    Returns:
        int or None

    Raises:
        ValueError: for anything else.
    """
    return _check_count(steps_per_epoch, "steps_per_epoch")


def check_validation_freq(validation_freq):
    """An int >= 1 (validate every that many epochs) or a collection of 1-based epochs.

    Args:
        validation_freq (int or collection of int): the argument of ``fit``.

    Returns:
        int or set of int

    Raises:
        ValueError: for anything else.
    """
    if isinstance(validation_freq, (list, tuple, set, range)):
        for epoch in validation_freq:
            _check_count(epoch, "validation_freq entries", allow_none=False)
        return set(int(e) for e in validation_freq)
    return _check_count(validation_freq, "validation_freq", allow_none=False)


def should_validate(epoch, validation_freq):
    """Keras's rule on the 1-based epoch number.

    Args:
        epoch (int): the epoch, from 0.
        validation_freq (int or set of int): from :func:`check_validation_freq`.

    Returns:
        bool
    """
    if isinstance(validation_freq, set):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0


class ArrayBatches:
    """Batches of in-memory arrays for ``fit``, Keras's way: with ``steps_per_epoch``, an
    epoch takes that many batches and the next epoch carries on where it stopped (a new
    pass, reshuffled, starts once the data is used up).

    Args:
        arrays (list): x, y, sample_weight arrays (same length; None allowed).
        batch_size (int): samples per batch.
        shuffle_rng (numpy.random.Generator or None, default None): reshuffles each pass;
            None keeps the order.
        steps_per_epoch (int or None, default None): batches per epoch; None: one pass.
    """

    def __init__(self, arrays, batch_size, shuffle_rng=None, steps_per_epoch=None):
        self.arrays = arrays                    # [x, y, sample_weight or None]
        self.n = len(arrays[0])
        self.batch_size = batch_size
        self.rng = shuffle_rng
        self.batches_per_pass = math.ceil(self.n / batch_size)
        self.steps_per_epoch = steps_per_epoch
        if steps_per_epoch and steps_per_epoch > self.batches_per_pass:
            warnings.warn(f"steps_per_epoch={steps_per_epoch} is more than the "
                          f"{self.batches_per_pass} batches the data holds; each epoch "
                          "stops when the data is used up.", stacklevel=3)
        self._pass = None

    @property
    def steps(self):
        return min(self.steps_per_epoch or self.batches_per_pass, self.batches_per_pass)

    def _new_pass(self):
        order = self.rng.permutation(self.n) if self.rng is not None else None
        for start in range(0, self.n, self.batch_size):
            index = slice(start, start + self.batch_size) if order is None \
                else order[start:start + self.batch_size]
            yield tuple(None if a is None else a[index] for a in self.arrays)

    def epoch(self):
        """The batches of one epoch, as ``(x, y, sample_weight or None)``. An epoch never
        runs into a second pass over the data (as in Keras): it ends early instead."""
        if not self.steps_per_epoch:
            yield from self._new_pass()
            return
        for _ in range(self.steps):
            if self._pass is None:
                self._pass, self._left = self._new_pass(), self.batches_per_pass
            batch = next(self._pass)
            self._left -= 1
            if self._left == 0:
                self._pass = None
            yield batch
            if self._pass is None:
                return


# ------------------------------------------------------------------------ iterables
class IterableBatches:
    """Batches from a Python iterable of ``(x, y)`` / ``(x, y, sample_weight)`` tuples.

    ``prepare(x, y, position)`` is the model's own check-and-convert of one batch (shapes,
    dtypes, labels); it raises ValueError naming the batch.

    Args:
        source (iterable): the batches.
        prepare (callable): as above.
        steps_per_epoch (int or None, default None): batches per epoch (required for a
            generator, which is read only once).
        class_weight (dict or None, default None): turned into per-sample weights.
    """

    def __init__(self, source, prepare, steps_per_epoch=None, class_weight=None):
        self.source = source
        self.prepare = prepare
        self.class_weight = class_weight
        self.one_shot = is_one_shot(source)
        if self.one_shot and steps_per_epoch is None:
            raise ValueError(
                f"`x` is a {type(source).__name__}, which can be read only once and may "
                "never end: pass `steps_per_epoch` (how many batches make an epoch), or "
                "pass a list of (x, y) batches, which is read again every epoch.")
        self.steps_per_epoch = steps_per_epoch
        self.signature = None
        self.exhausted = False
        self._iterator = iter(source) if self.one_shot else None
        self._checked = None
        if isinstance(source, (list, tuple)):     # check every batch before any step
            self._checked = [self._check(batch, i) for i, batch in enumerate(source)]

    @property
    def steps(self):
        if self.steps_per_epoch is not None:
            if self._checked is not None:
                return min(self.steps_per_epoch, len(self._checked))
            return self.steps_per_epoch
        return len(self._checked) if self._checked is not None else None

    def _check(self, batch, position):
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            size = f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""
            raise ValueError(f"Each batch from `x` must be a tuple (x, y) or (x, y, "
                             f"sample_weight); batch {position} is "
                             f"{type(batch).__name__}{size}.")
        xb, yb = self.prepare(batch[0], batch[1], position)
        sw = check_sample_weight(batch[2], len(xb), f"sample_weight of batch {position}") \
            if len(batch) == 3 else None
        sw = combine_weights(sw, self.class_weight, yb, f"y of batch {position}")
        signature = (len(batch), np.shape(xb)[1:], np.asarray(yb).shape[1:],
                     np.asarray(yb).dtype.kind)
        if self.signature is None:
            self.signature = signature
        elif signature != self.signature:
            raise ValueError(
                f"Batch {position} from `x` does not match the first batch: got "
                f"{_describe(signature)}, expected {_describe(self.signature)}. A "
                "generator must yield batches of one structure and feature shape.")
        return xb, yb, sw

    def epoch(self):
        if self._checked is not None:
            batches = self._checked
            if self.steps_per_epoch is not None:
                batches = batches[:self.steps_per_epoch]
            yield from batches
            return
        iterator = self._iterator if self.one_shot else iter(self.source)
        position = 0
        while self.steps_per_epoch is None or position < self.steps_per_epoch:
            try:
                batch = next(iterator)
            except StopIteration:
                if self.one_shot or self.steps_per_epoch is not None:
                    self.exhausted = True
                    warnings.warn("Your input ran out of data; interrupting training. Make "
                                  "sure that your generator can yield at least "
                                  "`steps_per_epoch * epochs` batches.", stacklevel=2)
                return
            yield self._check(batch, position)
            position += 1


def _describe(signature):
    items, x_shape, y_shape, kind = signature
    kind = {"f": "float", "i": "int", "u": "unsigned int", "b": "bool"}.get(kind, kind)
    return f"{items} items, x features {x_shape}, y features {y_shape} ({kind})"


# ------------------------------------------------------------------------ what fit and predict read
def fit_batches(model, x, y, sample_weight, class_weight, batch_size, shuffle,
                steps_per_epoch, validation_split, validation_data):
    """``fit``'s data as (training batches, validation batches or None), everything
    checked before the first step. ``model`` supplies its own checks: ``_prepare_xy``
    (shapes, dtypes) and ``_check_targets`` (labels against its output).

    Args:
        model (Model): supplies its own checks of each batch.
        x (array-like or iterable): as for ``fit``.
        y (array-like or None): as for ``fit``.
        sample_weight (array-like or None): as for ``fit``.
        class_weight (dict or None): as for ``fit``.
        batch_size (int or None): as for ``fit``.
        shuffle (bool): as for ``fit``.
        steps_per_epoch (int or None): as for ``fit``.
        validation_split (float): as for ``fit``.
        validation_data (tuple, iterable or None): as for ``fit``.

    Returns:
        tuple: ``(training batches, validation batches or None)``.
    """
    if is_batch_iterable(x):
        for argument, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(f"`{argument}` must be None when `x` is an iterable of "
                                 f"batches: each batch carries its own (x, y[, "
                                 f"sample_weight]). Received {argument} of type "
                                 f"{type(value).__name__}.")
        if validation_split:
            raise ValueError("`validation_split` needs array data, not an iterable of "
                             "batches; pass `validation_data` instead.")
        train = IterableBatches(x, model._prepare_batch, steps_per_epoch, class_weight)
    else:
        x, y = model._prepare_xy(x, y)
        sample_weight = check_sample_weight(sample_weight, len(x))
        model._check_targets(x, y)
        arrays = [x, y, sample_weight]
        split = None
        if validation_data is None:
            arrays, split = split_for_validation(arrays, validation_split)
        arrays[2] = combine_weights(arrays[2], class_weight, arrays[1])
        rng = make_rng() if shuffle else None
        train = ArrayBatches(arrays, batch_size, rng, steps_per_epoch)
        if split is not None:
            return train, ArrayBatches(split, batch_size)
    return train, validation_batches(model, validation_data, batch_size)


def validation_batches(model, validation_data, batch_size):
    """``validation_data`` as batches: a tuple of arrays or a re-iterable of batches.

    Args:
        model (Model): supplies its own checks of each batch.
        validation_data (tuple or iterable): the argument of ``fit``.
        batch_size (int): samples per batch.

    Returns:
        ArrayBatches, IterableBatches or None
    """
    if validation_data is None:
        return None
    if is_batch_iterable(validation_data):
        if is_one_shot(validation_data):
            raise ValueError("`validation_data` is read at every validation, so it cannot "
                             "be a generator or iterator; pass a list of (x, y) batches "
                             "or a tuple (x_val, y_val[, sample_weight_val]).")
        return IterableBatches(validation_data, model._prepare_batch)
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        size = (f" of length {len(validation_data)}"
                if isinstance(validation_data, (tuple, list)) else "")
        raise ValueError("`validation_data` must be a tuple (x_val, y_val) or (x_val, "
                         "y_val, sample_weight_val), or a list of such batches. "
                         f"Received: {type(validation_data).__name__}{size}")
    x_val, y_val = model._prepare_xy(*validation_data[:2], names=("x_val", "y_val"))
    model._check_targets(x_val, y_val, "y_val")
    sw_val = check_sample_weight(
        validation_data[2] if len(validation_data) == 3 else None, len(x_val),
        "sample_weight_val")
    return ArrayBatches([x_val, y_val, sw_val], batch_size)


def predict_batches(model, x, steps=None):
    """The inputs of an iterable of batches for ``predict``: arrays, or tuples whose first
    item is the input; each checked by the model and against the first batch's shape.

    Args:
        model (Model): supplies its own checks of each batch.
        x (iterable): the batches.
        steps (int or None, default None): how many to read; None: to the end.

    Returns:
        list of ndarray
    """
    shape = None
    for position, batch in enumerate(x):
        if steps is not None and position >= steps:
            break
        xb = batch[0] if isinstance(batch, tuple) else batch
        xb = model._prepare_x(xb, f"x of batch {position}")
        if shape is None:
            shape = xb.shape[1:]
        elif xb.shape[1:] != shape:
            raise ValueError(f"Batch {position} from `x` has feature shape {xb.shape[1:]}, "
                             f"but the first batch had {shape}.")
        yield xb
