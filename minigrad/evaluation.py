"""Using a model without training it: ``evaluate``, ``predict``, ``test_on_batch``,
``predict_on_batch``.

:class:`Evaluator` is the half of :class:`~minigrad.training.Trainer` that never changes a
weight: every call runs the model with ``training=False``. It uses the data checks, the
compiled loss and the metrics that ``Trainer`` (:mod:`minigrad.training`) sets up, and
``Trainer`` builds on it. The small helpers both halves share (argument checks, batching,
the running mean of the loss) live here too.
"""
import math
import numbers

import numpy as np

from . import data_adapter
from .threads import training_threads


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
    return verbose


def _check_batch_size(batch_size):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: "
                         f"batch_size={batch_size!r}")
    return int(batch_size)


def _batches(n, batch_size, order=None):
    """Index slices (or index arrays when ``order`` is given) of consecutive batches."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield slice(start, stop) if order is None else order[start:stop]


class _Mean:
    """Running mean weighted by batch size (how Keras reports the loss)."""

    def __init__(self):
        self.total, self.count = 0.0, 0

    def update(self, value, weight):
        self.total += value * weight
        self.count += weight

    def result(self):
        return self.total / self.count if self.count else 0.0


class _Arrays:
    """One array per model input (or output), sliced together: ``len`` is the number of
    samples and ``arrays[index]`` slices every array, so batching code treats it like
    one array."""

    def __init__(self, arrays):
        self.arrays = list(arrays)

    def __len__(self):
        return next(len(a) for a in self.arrays if a is not None)

    def __getitem__(self, index):
        return _Arrays(None if a is None else a[index] for a in self.arrays)

    def __iter__(self):
        return iter(self.arrays)


def _unwrap(x):
    return x.arrays if isinstance(x, _Arrays) else x


class Evaluator:
    """evaluate / predict / test_on_batch / predict_on_batch, mixed into
    :class:`~minigrad.training.Trainer` (which supplies the data checks and metrics)."""

    def _test_step(self, x, y, sample_weight=None):
        y_pred = self(_unwrap(x), training=False)
        loss = self._total_loss(y, y_pred, sample_weight)
        return float(loss.data), y_pred

    def _evaluate_batches(self, batches, prefix="", progress=None):
        self._reset_metrics()
        loss_mean = _Mean()
        for xb, yb, swb in batches:
            loss, y_pred = self._test_step(xb, yb, swb)
            loss_mean.update(loss, len(xb))
            self._update_metrics(yb, y_pred, swb)
            if progress is not None:
                progress.update(1)
        return self._logs(loss_mean, prefix)

    @training_threads
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, return_dict=False):
        """Loss (compiled + penalties) and metrics on ``(x, y)``, with ``training=False``.

        Args:
            x (array-like, iterable or None, default None): the inputs, or an iterable of
                ``(x, y[, sample_weight])`` batches (read to the end, or for ``steps``).
            y (array-like or None, default None): the targets.
            batch_size (int or None, default None): samples per step (None: 32).
            verbose (int or str, default "auto"): 0 silent, 1 a progress bar.
            sample_weight (array-like or None, default None): one weight per sample.
            steps (int or None, default None): batches to read from an iterable.
            return_dict (bool, default False): return ``{"loss": ..., metric name: ...}``.

        Returns:
            float, list or dict: the loss alone if there are no metrics, else
            ``[loss, metric, ...]``, or a dict with ``return_dict=True``.
        """
        self._require_compiled("evaluate")
        verbose = _resolve_verbose(verbose)
        batch_size = _check_batch_size(batch_size)
        steps = data_adapter.check_steps_per_epoch(steps) if steps is not None else None
        if data_adapter.is_batch_iterable(x):
            if y is not None or sample_weight is not None:
                raise ValueError("`y` and `sample_weight` must be None when `x` is an "
                                 "iterable of batches: each batch carries its own.")
            source = x
            if data_adapter.is_one_shot(x) and steps is None:
                source = list(x)                  # read to the end, then check it all
            batches = data_adapter.IterableBatches(source, self._prepare_batch, steps)
        else:
            x, y = self._prepare_xy(x, y)
            sw = data_adapter.check_sample_weight(sample_weight, len(x))
            batches = data_adapter.ArrayBatches([x, y, sw], batch_size, steps_per_epoch=steps)
        with _progress(verbose, batches.steps, "evaluate") as bar:
            logs = self._evaluate_batches(batches.epoch(), progress=bar)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=True)
        if verbose == 2:
            print("  ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    @training_threads
    def predict(self, x, batch_size=None, verbose="auto", steps=None):
        """The model's outputs for ``x`` as one NumPy array (``training=False``).

        Args:
            x (array-like or iterable): the inputs, or an iterable of batches: arrays, or
                tuples whose first item is the input (``(x, y)`` batches work as they are).
            batch_size (int or None, default None): samples per step (None: 32).
            verbose (int or str, default "auto"): 0 silent, 1 a progress bar.
            steps (int or None, default None): batches to read from an iterable.

        Returns:
            ndarray: (or a list / dict of them for several outputs).

        Example:
            >>> model = mg.Sequential([mg.Input((4,)), layers.Dense(2)])
            >>> model.predict(np.zeros((5, 4)), verbose=0).shape
            (5, 2)
        """
        verbose = _resolve_verbose(verbose)
        batch_size = _check_batch_size(batch_size)
        steps = data_adapter.check_steps_per_epoch(steps) if steps is not None else None
        if data_adapter.is_batch_iterable(x):
            inputs = data_adapter.predict_batches(self, x, steps)
            total = steps
        else:
            x = self._prepare_x(x)
            inputs = (x[index] for index in _batches(len(x), batch_size))
            total = math.ceil(len(x) / batch_size)
        outputs = []
        with _progress(verbose, total, "predict") as bar:
            for xb in inputs:
                outputs.append(_numpy(self(_unwrap(xb), training=False)))
                if bar is not None:
                    bar.update(1)
        if not outputs:
            raise ValueError("predict(): `x` yielded no batches.")
        return _concatenate(outputs)

    def _batch_result(self, loss, return_dict):
        logs = {"loss": loss}
        if self._output_losses is not None:
            self._output_loss_means = [_Mean() for _ in self._output_losses]
            for mean, value in zip(self._output_loss_means, self._last_output_losses):
                if value is not None:
                    mean.update(value, 1)
            logs = self._logs_outputs(logs, "")
        for metric in ([] if self._output_losses is not None
                       else self.compiled_metrics + self.compiled_weighted_metrics):
            logs[metric.name] = float(np.asarray(metric.result()))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    @training_threads
    def test_on_batch(self, x, y, sample_weight=None, reset_metrics=True, return_dict=False):
        """Loss (and metrics) on exactly this batch, without training.

        Args:
            x (array-like): the batch's inputs.
            y (array-like): its targets.
            sample_weight (array-like or None, default None): one weight per sample.
            reset_metrics (bool, default True): start the metrics afresh (False accumulates).
            return_dict (bool, default False): return a dict keyed by name.

        Returns:
            float, list or dict: the loss, or ``[loss, metric, ...]``, or a dict.
        """
        self._require_compiled("test_on_batch")
        x, y = self._prepare_xy(x, y)
        sw = data_adapter.check_sample_weight(sample_weight, len(x))
        if reset_metrics:
            self._reset_metrics()
        loss, y_pred = self._test_step(x, y, sw)
        self._update_metrics(y, y_pred, sw)
        return self._batch_result(loss, return_dict)

    @training_threads
    def predict_on_batch(self, x):
        """The model's outputs for exactly this batch, as NumPy (``training=False``).

        Args:
            x (array-like): the batch's inputs.

        Returns:
            ndarray: (or a list / dict of them for several outputs).
        """
        return _numpy(self(_unwrap(self._prepare_x(x)), training=False))


def _numpy(outputs):
    if isinstance(outputs, dict):
        return {k: v.data for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return [v.data for v in outputs]
    return outputs.data


def _concatenate(batches):
    first = batches[0]
    if isinstance(first, dict):
        return {k: np.concatenate([b[k] for b in batches], axis=0) for k in first}
    if isinstance(first, list):
        return [np.concatenate([b[i] for b in batches], axis=0) for i in range(len(first))]
    return np.concatenate(batches, axis=0)


class _progress:
    """A tqdm bar when ``verbose == 1``, else None (a context)."""

    def __init__(self, verbose, total, desc):
        self.bar = None
        if verbose == 1:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc=desc, unit="batch", leave=True)

    def __enter__(self):
        return self.bar

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False
