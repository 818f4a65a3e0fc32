"""Training a model: ``compile``, ``fit``, ``train_on_batch``.

:class:`Trainer` is mixed into :class:`~minigrad.Sequential`. One training step is the
step the tutorials write by hand (Keras 3's order, listed in minigrad/optimizers.py)::

    with GradientTape() as tape:
        y_pred = model(x_batch, training=True)
        loss = loss_fn(y_batch, y_pred) + sum(model.losses)     # compiled loss + penalties
    grads = tape.gradient(loss, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
    # then the metrics see (y_batch, y_pred) from this same forward pass

``fit`` runs that step over shuffled mini-batches for some epochs, reports the
batch-size-weighted mean of the loss (and metrics) per epoch, evaluates on validation
data after each epoch, and calls the callbacks (:mod:`minigrad.callbacks`) at every
stage. Everything about the data is checked before the first step. Sample weights, class
weights and iterables of batches are handled in :mod:`minigrad.data_adapter`; ``evaluate``
and ``predict``, which run the model without training it, in :mod:`minigrad.evaluation`.
"""
import numbers
import warnings

import numpy as np

from . import callbacks as callbacks_module
from . import data_adapter
from .evaluation import Evaluator, _Mean, _check_batch_size, _resolve_verbose, _unwrap
from .tape import GradientTape
from .tensor import Tensor
from .threads import training_threads

__all__ = ["Trainer"]


def _as_array(data, argument):
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, (list, tuple)) and data and all(
            isinstance(d, (np.ndarray, Tensor)) for d in data) and len(data) > 1:
        raise TypeError(f"`{argument}` must be one array: the model has a single input "
                        f"(and output). Received a {type(data).__name__} of "
                        f"{len(data)} arrays.")
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as e:
        raise TypeError(f"`{argument}` must be array-like (a NumPy array or Tensor). "
                        f"Received {type(data).__name__}: {e}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"`{argument}` must hold numbers; received an array of dtype "
                        f"{array.dtype}.")
    if array.ndim == 0:
        raise ValueError(f"`{argument}` must have a batch axis; received a scalar.")
    return array


def _callback_list(callbacks):
    """``callbacks``: None, one Callback, or a list/tuple of them -> a list."""
    if callbacks is None:
        return []
    if isinstance(callbacks, callbacks_module.Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"`callbacks` must be a Callback or a list of Callbacks. Received: "
                        f"callbacks={callbacks!r} (of type {type(callbacks).__name__})")
    return list(callbacks)


class Trainer(Evaluator):
    """compile / fit / evaluate / predict / train_on_batch / test_on_batch for a model
    that is a Layer (has ``__call__``, ``trainable_weights`` and ``losses``). The methods
    that only run the model (evaluate, predict, ...) come from
    :class:`~minigrad.evaluation.Evaluator`."""

    def _init_training_state(self):
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []
        self.compiled_weighted_metrics = []
        self._output_losses = None       # [(output name, loss, weight)] for several outputs
        self.compiled = False
        self.stop_training = False
        self.history = None

    # -- compile -----------------------------------------------------------------
    def compile(self, optimizer="sgd", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None):
        """Choose the optimizer, the loss and the metrics.

        Args:
            optimizer (str or Optimizer, default "sgd"): an optimizer object or its name
                (``"sgd"``, ``"adam"``, ...).
            loss (str, Loss, callable, list or dict, default None): a loss object, a
                function ``(y_true, y_pred) -> scalar Tensor`` or a name
                (``"sparse_categorical_crossentropy"``, ``"mse"``, ...).
            metrics (list or dict, default None): metric objects or names
                (``["accuracy"]``); ``"accuracy"`` picks the accuracy that fits the loss.
                They ignore sample weights (as in Keras).
            loss_weights (list or dict, default None): for a model with several outputs,
                one weight per output (or a dict keyed by output name); the loss is the
                weighted sum.
            weighted_metrics (list, default None): metrics weighted by
                ``sample_weight``/``class_weight`` (a single-output model).

        A model with several outputs takes one loss for all, a list (one per output) or
        a dict keyed by output name, and metrics as a list of lists or a dict; ``fit``
        then also reports each output's unweighted loss as ``<output name>_loss``.

        A bad argument raises and leaves the model's previous optimizer (with its state),
        loss and metrics in place.
        """
        from . import losses as losses_module
        from . import metrics as metrics_module
        from . import optimizers as optimizers_module
        if loss is None:
            raise ValueError("compile() needs a `loss` (an object, a function or a name such "
                             "as 'sparse_categorical_crossentropy').")
        output_keys = self._output_keys()
        if output_keys is not None or isinstance(loss, (list, tuple, dict)) \
                or loss_weights is not None:
            if weighted_metrics:
                raise ValueError("compile(): `weighted_metrics` is supported for models with "
                                 "a single output only.")
            saved = {k: v for k, v in vars(self).items() if k in _COMPILED_STATE}
            try:
                self.optimizer = optimizers_module.get(optimizer)
                self.compiled_weighted_metrics = []
                self._compile_outputs(output_keys, loss, metrics, loss_weights)
            except BaseException:
                for k in _COMPILED_STATE:              # all or nothing
                    if k in saved:
                        setattr(self, k, saved[k])
                    elif k in vars(self):
                        delattr(self, k)
                raise
            return
        new_loss = losses_module.get(loss)
        resolved = []
        for given in (metrics, weighted_metrics):
            if given is None:
                given = []
            elif isinstance(given, (str, bytes)) or not isinstance(given, (list, tuple)):
                given = [given]
            resolved.append([metrics_module.get(m, loss=new_loss) for m in given])
        new_metrics, new_weighted = resolved
        for metric in new_weighted:
            if any(m.name == metric.name for m in new_metrics) and \
                    not any(m is metric for m in new_metrics):
                metric.name = "weighted_" + metric.name
        names = [m.name for m in new_metrics + new_weighted]
        duplicates = {n for n in names if names.count(n) > 1 or n == "loss"}
        if duplicates:
            raise ValueError(f"compile(): metric names must be unique and not 'loss'; got "
                             f"{names}.")
        new_optimizer = optimizers_module.get(optimizer)
        self._output_losses = None
        self.optimizer, self.loss = new_optimizer, new_loss
        self.compiled_metrics, self.compiled_weighted_metrics = new_metrics, new_weighted
        self.compiled = True

    def _require_compiled(self, method):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before `{method}()`: the model "
                               f"'{self.name}' has no loss or optimizer yet.")

    # -- data --------------------------------------------------------------------
    def _prepare_x(self, x, argument="x"):
        if self._input_count() > 1 or isinstance(x, dict):
            return self._prepare_structure(x, argument, inputs=True)
        x = _as_array(x, argument)
        if len(x) == 0:
            raise ValueError(f"`{argument}` is empty (shape {x.shape}); there is nothing to "
                             "train on or predict.")
        self._check_input_shape(x.shape, what=f"`{argument}`")
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)            # once, rather than once per batch
        return x

    def _prepare_xy(self, x, y, names=("x", "y")):
        if y is None:
            raise ValueError(f"`{names[1]}` is required: the targets for `{names[0]}`.")
        x = self._prepare_x(x, names[0])
        if self._output_losses is not None:
            y = self._prepare_structure(y, names[1], inputs=False)
        else:
            y = _as_array(y, names[1])
        if len(x) != len(y):
            raise ValueError(f"`{names[0]}` and `{names[1]}` must have the same number of "
                             f"samples (first axis): {names[0]} has {len(x)} (shape "
                             f"{x.shape}), {names[1]} has {len(y)} (shape {y.shape}).")
        return x, y

    def _check_input_shape(self, shape, what="input"):
        pass                                     # Sequential overrides this

    # -- one step ----------------------------------------------------------------
    def _total_loss(self, y_true, y_pred, sample_weight=None):
        """Compiled loss + sum of ``self.losses``; read inside the tape so it records.

        With ``sample_weight`` the compiled loss is ``sum(loss_i * w_i) / batch size``
        (Keras's reduction); the penalties are not weighted."""
        if self._output_losses is not None:
            return self._total_loss_outputs(y_true, y_pred, sample_weight)
        loss = self.loss(y_true, y_pred) if sample_weight is None \
            else self.loss(y_true, y_pred, sample_weight=sample_weight)
        for penalty in self.losses:
            loss = loss + penalty
        return loss

    def _train_step(self, x, y, sample_weight=None, callbacks=None, step=0):
        """One optimizer step; ``callbacks`` (a CallbackList) then receive its gradients
        through ``on_train_batch_gradients(step, gradients, weights)``."""
        with GradientTape() as tape:
            y_pred = self(_unwrap(x), training=True)   # builds the model on the first call
            loss = self._total_loss(y, y_pred, sample_weight)
        weights = self.trainable_weights
        if weights:
            grads = tape.gradient(loss, weights)
            self.optimizer.apply_gradients(zip(grads, weights))
            if callbacks is not None:
                callbacks.on_train_batch_gradients(step, grads, weights)
        elif not self.weights:
            raise ValueError(_no_weights_message(self))
        elif not getattr(self, "_warned_no_weights", False):
            warnings.warn(f"Model '{self.name}' has no trainable weights; fit() only "
                          "computes the loss.", stacklevel=3)
            self._warned_no_weights = True
        return float(loss.data), y_pred

    def _update_metrics(self, y, y_pred, sample_weight=None):
        if self._output_losses is not None:
            return self._update_output_metrics(y, y_pred)
        for metric in self.compiled_metrics:
            metric.update_state(y, y_pred)
        for metric in self.compiled_weighted_metrics:
            metric.update_state(y, y_pred, sample_weight)

    def _reset_metrics(self):
        for metric in self.compiled_metrics + self.compiled_weighted_metrics:
            metric.reset_state()
        for i in range(len(self._output_losses or [])):
            self._output_loss_means[i] = _Mean()

    def _logs(self, loss_mean, prefix=""):
        logs = {prefix + "loss": float(loss_mean.result())}
        if self._output_losses is not None:
            return self._logs_outputs(logs, prefix)
        for metric in self.compiled_metrics + self.compiled_weighted_metrics:
            logs[prefix + metric.name] = float(np.asarray(metric.result()))
        return logs

    # -- data checks -------------------------------------------------------------
    def _check_targets(self, x, y, argument="y"):
        """Run the compiled loss and metrics on placeholder predictions for *all* of
        ``y``, so that a bad label anywhere raises before the first step (not after some
        batches were applied). One forward pass on one sample (``training=False``, no
        state changes) gives the output shape."""
        if not isinstance(y, np.ndarray) or len(x) == 0:
            return
        out = self(x[:1], training=False)
        if not isinstance(out, Tensor):
            return
        placeholder = Tensor(np.full((len(y),) + out.shape[1:], 0.5, dtype=out.dtype))
        try:
            self.loss(y, placeholder)
            for metric in self.compiled_metrics + self.compiled_weighted_metrics:
                if hasattr(metric, "values"):
                    metric.values(y, placeholder.data)
        except (ValueError, TypeError) as e:
            raise type(e)(f"`{argument}` does not fit the model's output of shape "
                          f"{(None,) + out.shape[1:]} (checked before training): {e}") from None

    def _prepare_batch(self, x, y, position):
        """Check and convert one batch from an iterable (see data_adapter)."""
        x, y = self._prepare_xy(x, y, names=(f"x of batch {position}", f"y of batch {position}"))
        self._check_targets(x, y, f"y of batch {position}")
        return x, y

    # -- fit ---------------------------------------------------------------------
    @training_threads
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the :class:`~minigrad.callbacks.History`.

        Args:
            x (array-like, iterable or None, default None): the inputs; or ``x`` alone as
                an iterable of ``(x, y)`` / ``(x, y, sample_weight)`` batches (a list is
                read again every epoch; a generator is read once and needs
                ``steps_per_epoch``). See :mod:`minigrad.data_adapter`.
            y (array-like or None, default None): the targets.
            batch_size (int or None, default None): samples per step (None: 32); the
                last batch may be smaller.
            epochs (int, default 1): the epoch to stop after.
            verbose (int or str, default "auto"): 0 silent, 1 (``"auto"``) a progress bar
                per epoch, 2 one line per epoch.
            callbacks (list of Callback or None, default None): see
                :mod:`minigrad.callbacks`.
            validation_split (float, default 0.0): fraction in [0, 1) of the data held out
                for validation: the *last* samples, taken before shuffling (as in Keras).
            validation_data (tuple or None, default None): ``(x_val, y_val)`` or
                ``(x_val, y_val, sample_weight_val)`` (or a list of such batches), used
                instead of validation_split.
            shuffle (bool, default True): reshuffle the training samples every epoch
                (seeded by ``mg.set_random_seed``).
            class_weight (dict or None, default None): ``{class index: weight}`` for a
                classification loss; every class present in ``y`` needs a weight.
            sample_weight (array-like or None, default None): one weight per sample
                (loss = sum(loss_i w_i) / batch size).
            initial_epoch (int, default 0): epoch to start counting from (to resume).
            steps_per_epoch (int or None, default None): batches per epoch (the next
                epoch carries on from there).
            validation_freq (int or list, default 1): validate every that many epochs, or
                on the listed (1-based) epochs.

        Returns:
            History: ``history.history["loss"]``, one value per epoch.

        When the learning rate follows a schedule, each epoch's logs also hold
        ``learning_rate``: the rate the next step will use.
        """
        self._require_compiled("fit")
        verbose = _resolve_verbose(verbose)
        batch_size = _check_batch_size(batch_size)
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
            raise ValueError(f"`epochs` must be a non-negative integer. Received: "
                             f"epochs={epochs!r}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, numbers.Integral) \
                or initial_epoch < 0:
            raise ValueError(f"`initial_epoch` must be a non-negative integer. Received: "
                             f"initial_epoch={initial_epoch!r}")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"`shuffle` must be a boolean. Received: shuffle={shuffle!r}")
        user = _callback_list(callbacks)
        steps_per_epoch = data_adapter.check_steps_per_epoch(steps_per_epoch)
        validation_freq = data_adapter.check_validation_freq(validation_freq)
        class_weight = data_adapter.check_class_weight(class_weight, self.loss)
        train, val = data_adapter.fit_batches(self, x, y, sample_weight, class_weight,
                                              batch_size, shuffle, steps_per_epoch,
                                              validation_split, validation_data)

        self.history = callbacks_module.History()
        default = [callbacks_module.ProgbarLogger(verbose)] if verbose else []
        cbs = callbacks_module.CallbackList(
            default + user + [self.history], model=self,
            params={"epochs": epochs, "steps": train.steps, "verbose": verbose,
                    "batch_size": batch_size,
                    "samples": getattr(train, "n", None)})
        self.stop_training = False
        cbs.on_train_begin({})
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            loss_mean = _Mean()
            cbs.on_epoch_begin(epoch, {})
            for step, (xb, yb, swb) in enumerate(train.epoch()):
                cbs.on_train_batch_begin(step, {})
                loss, y_pred = self._train_step(xb, yb, swb, cbs, step)
                loss_mean.update(loss, len(xb))
                self._update_metrics(yb, y_pred, swb)
                cbs.on_train_batch_end(step, self._logs(loss_mean))
                if self.stop_training:
                    break
            epoch_logs = self._logs(loss_mean)
            if val is not None and data_adapter.should_validate(epoch, validation_freq):
                epoch_logs.update(self._evaluate_batches(val.epoch(), prefix="val_"))
            if self.optimizer.has_schedule:
                epoch_logs["learning_rate"] = self.optimizer.learning_rate
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training or getattr(train, "exhausted", False):
                break
        cbs.on_train_end(epoch_logs)
        return self.history

    # -- single batches ----------------------------------------------------------
    @training_threads
    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One optimizer step on exactly this batch; returns its loss (and metrics).

        Args:
            x (array-like): the batch's inputs.
            y (array-like): its targets.
            sample_weight (array-like or None, default None): one weight per sample.
            class_weight (dict or None, default None): ``{class index: weight}``.
            reset_metrics (bool, default True): start the metrics afresh (False accumulates).
            return_dict (bool, default False): return a dict keyed by name.

        Returns:
            float, list or dict: the loss, or ``[loss, metric, ...]``, or a dict.
        """
        self._require_compiled("train_on_batch")
        x, y = self._prepare_xy(x, y)
        sw = data_adapter.check_sample_weight(sample_weight, len(x))
        class_weight = data_adapter.check_class_weight(class_weight, self.loss)
        sw = data_adapter.combine_weights(sw, class_weight, y)
        self._check_targets(x, y)
        if reset_metrics:
            self._reset_metrics()
        loss, y_pred = self._train_step(x, y, sw)
        self._update_metrics(y, y_pred, sw)
        return self._batch_result(loss, return_dict)

# What compile() sets, restored when compiling a multi-output model fails half-way.
_COMPILED_STATE = ("optimizer", "loss", "compiled_metrics", "compiled_weighted_metrics",
                   "_output_losses", "_metric_outputs", "_output_loss_means", "compiled")


def _no_weights_message(model):
    """Why a model has nothing to train (the usual cause for a subclass)."""
    return (f"Model '{model.name}' has no weights, so there is nothing to train. Weights are "
            "created by layers the model tracks: in a subclass, create the layers in "
            "__init__ and assign them as attributes (self.dense = layers.Dense(4)), also "
            "inside lists or dicts; a layer created inside call() is new on every call and "
            "is not tracked.")
