"""Several inputs and outputs: what ``compile``/``fit`` add for a functional model with
more than one of either.

* inputs come as a list (in the order of ``model.inputs``) or a dict keyed by the inputs'
  names; each array is checked against its ``mg.Input``;
* ``compile(loss=...)`` takes one loss for all outputs, a list (one per output) or a dict
  keyed by output name (an output without a loss is left out), ``loss_weights`` likewise;
  the loss ``fit`` minimizes is the weighted sum plus the penalties in ``model.losses``;
* ``metrics`` is a list of lists or a dict keyed by output name;
* ``history`` has Keras's keys: ``loss``, then ``<output>_loss`` for each output
  (unweighted, the batch-size-weighted mean over the epoch) and ``<output>_<metric>``.

The output names are the names of the layers that make the outputs (the keys of a dict of
outputs). :class:`OutputsMixin` is mixed into :class:`~minigrad.Model` beside
:class:`~minigrad.training.Trainer`, whose steps call these methods when
``self._output_losses`` is set.
"""
import math
import numbers

import numpy as np

from ..evaluation import _Arrays, _Mean
from ..training import _as_array

__all__ = ["OutputsMixin"]


class OutputsMixin:
    """Per-output losses, loss weights, metrics and logs; lists and dicts of arrays."""

    def _input_count(self):
        graph = getattr(self, "_graph", None)
        return 1 if graph is None else len(graph.inputs)

    def _output_keys(self):
        """Names of the outputs when the model has several (dict keys for a dict of
        outputs, else the output layers' names), or None for one output."""
        graph = getattr(self, "_graph", None)
        if graph is None or len(graph.outputs) == 1:
            return None
        if isinstance(getattr(self, "_outputs_struct", None), dict):
            return list(self._outputs_struct)
        return list(self.output_names)

    def _compile_outputs(self, keys, loss, metrics, loss_weights):
        """Per-output losses, weights and metrics (Keras's rules and key names)."""
        from .. import losses as losses_module
        from .. import metrics as metrics_module
        keys = keys or list(getattr(self, "output_names", None) or ["output"])
        per_loss = _per_output(loss, keys, "loss")
        weights = _per_output(1.0 if loss_weights is None else loss_weights, keys,
                              "loss_weights")
        for key, w in zip(keys, weights):
            if w is None:
                continue
            if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w):
                raise ValueError(f"compile(): loss_weights for output '{key}' must be a "
                                 f"finite number. Received: {w!r}")
        self._output_losses = [(key, None if l is None else losses_module.get(l),
                                1.0 if w is None else float(w))
                               for key, l, w in zip(keys, per_loss, weights)]
        if all(fn is None for _, fn, _ in self._output_losses):
            raise ValueError(f"compile(): no loss for any of the outputs {keys}.")
        self.loss = [fn for _, fn, _ in self._output_losses]
        if metrics is None:
            per_metrics = [[] for _ in keys]
        elif isinstance(metrics, dict) or (isinstance(metrics, (list, tuple)) and metrics
                                           and all(isinstance(m, (list, tuple))
                                                   for m in metrics)):
            per_metrics = [m or [] for m in _per_output(metrics, keys, "metrics", fill=[])]
        elif len(keys) == 1:
            per_metrics = [metrics if isinstance(metrics, (list, tuple)) else [metrics]]
        else:
            raise ValueError(f"compile(): for a model with several outputs {keys}, give "
                             "`metrics` as a dict keyed by output name or as a list of "
                             f"lists (one per output). Received: metrics={metrics!r}")
        self.compiled_metrics, self._metric_outputs = [], []
        for i, (key, fn, _) in enumerate(self._output_losses):
            items = per_metrics[i] if isinstance(per_metrics[i], (list, tuple)) \
                else [per_metrics[i]]
            for m in items:
                metric = metrics_module.get(m, loss=fn)
                self.compiled_metrics.append(metric)
                label = m if isinstance(m, str) else metric.name   # Keras keeps "mae"
                self._metric_outputs.append((i, f"{key}_{label}"))
        self._output_loss_means = [_Mean() for _ in self._output_losses]
        self.compiled = True

    def _prepare_structure(self, data, argument, inputs):
        """A list or dict of arrays, one per model input (or output), as _Arrays."""
        keys = ([t.name for t in self._graph.inputs] if inputs
                else [key for key, _, _ in self._output_losses])
        if isinstance(data, dict):
            missing = [k for k in keys if k not in data and (inputs or self._output_losses[
                keys.index(k)][1] is not None)]
            if missing:
                raise ValueError(f"`{argument}` has no entry for {missing}; expected keys "
                                 f"{keys}, received {list(data)}.")
            items = [data.get(k) for k in keys]
        elif isinstance(data, (list, tuple)) and not isinstance(data, np.ndarray):
            items = list(data)
            if len(items) != len(keys):
                raise ValueError(f"`{argument}` must hold {len(keys)} arrays, one for each "
                                 f"{'input' if inputs else 'output'} {keys}; received "
                                 f"{len(items)}.")
        elif len(keys) == 1:
            items = [data]
        else:
            raise ValueError(f"`{argument}` must be a list or dict of {len(keys)} arrays, one "
                             f"for each {'input' if inputs else 'output'} {keys}; received "
                             f"one {type(data).__name__}.")
        arrays = [None if item is None else _as_array(item, f"{argument}['{k}']")
                  for k, item in zip(keys, items)]
        sizes = {k: len(a) for k, a in zip(keys, arrays) if a is not None}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"The arrays of `{argument}` must have the same number of samples "
                             f"(first axis); received {sizes}.")
        if sizes and not any(sizes.values()):
            raise ValueError(f"`{argument}` is empty; there is nothing to train on or predict.")
        if inputs:
            from .functional import check_input
            for i, (t, a) in enumerate(zip(self._graph.inputs, arrays)):
                check_input(self.name, t, a.shape, i)
            arrays = [a.astype(t.dtype) if a.dtype != t.dtype else a
                      for t, a in zip(self._graph.inputs, arrays)]
        return _Arrays(arrays)

    def _total_loss_outputs(self, y_true, y_pred, sample_weight=None):
        """Weighted sum of the per-output losses (each kept for the logs) + penalties;
        ``sample_weight`` (one per sample) weights every output's loss."""
        y_pred = _as_list(y_pred)
        total, self._last_output_losses = None, []
        for (key, fn, weight), yt, yp in zip(self._output_losses, y_true, y_pred):
            if fn is None or yt is None:
                self._last_output_losses.append(None)
                continue
            value = fn(yt, yp) if sample_weight is None else fn(yt, yp, sample_weight)
            self._last_output_losses.append(float(value.data))
            term = value * weight if weight != 1.0 else value
            total = term if total is None else total + term
        for penalty in self.losses:
            total = total + penalty
        return total

    def _update_output_metrics(self, y, y_pred):
        y_pred = _as_list(y_pred)
        n = len(y)
        for mean, value in zip(self._output_loss_means, self._last_output_losses):
            if value is not None:
                mean.update(value, n)
        for metric, (i, _) in zip(self.compiled_metrics, self._metric_outputs):
            if y.arrays[i] is not None:
                metric.update_state(y.arrays[i], y_pred[i])

    def _logs_outputs(self, logs, prefix):
        """Keras's keys: ``<output>_loss`` (unweighted, when there are several losses)
        and ``<output>_<metric>``."""
        if sum(fn is not None for _, fn, _ in self._output_losses) > 1:
            for (key, fn, _), mean in zip(self._output_losses, self._output_loss_means):
                if fn is not None:
                    logs[f"{prefix}{key}_loss"] = float(mean.result())
        for metric, (_, key) in zip(self.compiled_metrics, self._metric_outputs):
            logs[prefix + key] = float(np.asarray(metric.result()))
        return logs


def _as_list(outputs):
    if isinstance(outputs, dict):
        return list(outputs.values())
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _per_output(value, keys, argument, fill=None):
    """``value`` spread over the outputs ``keys``: one for all, a list, or a dict."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise ValueError(f"compile(): `{argument}` has keys {unknown} that are not "
                             f"outputs of the model; outputs: {keys}.")
        return [value.get(k, fill) for k in keys]
    if isinstance(value, (list, tuple)):
        if len(value) != len(keys):
            raise ValueError(f"compile(): `{argument}` must have one entry per output "
                             f"{keys}; received {len(value)}.")
        return list(value)
    return [value] * len(keys)
