"""Callbacks that watch a logged value or set the learning rate: ``EarlyStopping``,
``ModelCheckpoint``, ``LearningRateScheduler``, ``ReduceLROnPlateau``, ``CSVLogger``."""
import collections.abc
import csv
import math
import os
import warnings

import numpy as np

from .base import Callback


class _MonitorMixin:
    """Shared by EarlyStopping and ModelCheckpoint: which direction is "better"."""

    def _set_mode(self, mode, monitor):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{type(self).__name__}: `mode` must be one of 'auto', 'min', "
                             f"'max'. Received: mode={mode!r}")
        if mode == "auto":
            name = monitor.lower()
            mode = "max" if ("acc" in name or "auc" in name or name.endswith("precision")
                             or name.endswith("recall")) else "min"
        self.mode = mode
        self.monitor_op = np.greater if mode == "max" else np.less

    def _get_monitor_value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__}: the monitored value `{self.monitor}` is not "
                          f"in the logs. Available: {', '.join(sorted(logs or {}))}.",
                          stacklevel=3)
        return value


class EarlyStopping(_MonitorMixin, Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves when the value beats the best so far by more than ``min_delta``
    (lower is better in mode ``"min"``, higher in ``"max"``; ``"auto"`` picks max for
    accuracies). With ``restore_best_weights=True`` the model gets back the weights of
    its best epoch when it stops early. ``baseline``: an epoch only resets the patience
    count if it also beats this value. ``start_from_epoch``: epochs before it are not
    watched (a warm-up).

    Args:
        monitor (str, default "val_loss"): the logged value to watch (``"loss"``,
            ``"val_accuracy"``, ...); a warning if the logs lack it.
        min_delta (float, default 0): the smallest change that counts as improving.
        patience (int, default 0): epochs without improvement before stopping (>= 0).
        verbose (int, default 0): 1 prints the epoch it stops at.
        mode (str, default "auto"): ``"min"`` (lower is better), ``"max"``, or ``"auto"``
            (max for accuracies, AUC, precision, recall; min otherwise).
        baseline (float or None, default None): a value to beat before the patience count
            resets.
        restore_best_weights (bool, default False): give the model its best epoch's
            weights back when stopping.
        start_from_epoch (int, default 0): epochs before it are not watched.

    Raises:
        ValueError: for a negative ``patience`` or an unknown ``mode``.

    Example:
        >>> model = mg.Sequential([layers.Dense(1, input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> stop = callbacks.EarlyStopping(monitor="loss", patience=1)
        >>> history = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=10, verbose=0,
        ...                     callbacks=[stop])
        >>> history.epoch
        [0, 1]
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: `patience` must be an integer >= 0. Received: "
                             f"patience={patience!r}")
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._set_mode(mode, monitor)
        # Stored with the sign that makes ``monitor_op(value - min_delta, best)`` the test.
        self.min_delta = abs(min_delta) if self.mode == "max" else -abs(min_delta)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = -np.inf if self.mode == "max" else np.inf
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value, reference):
        return bool(self.monitor_op(value - self.min_delta, reference))

    def on_epoch_end(self, epoch, logs=None):
        current = self._get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                if self.verbose > 0:
                    print(f"Restoring model weights from the end of the best epoch: "
                          f"{self.best_epoch + 1}.")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class ModelCheckpoint(_MonitorMixin, Callback):
    """Save the model's weights (a minigrad ``.npz`` file) at the end of epochs.

    Args:
        filepath (str or path): may contain ``{epoch}`` (1-based) and any log key, with
            format specs: ``"ckpt/w-{epoch:02d}-{val_loss:.3f}.npz"``. Directories are
            created.
        monitor (str, default "val_loss"): the logged value to watch (``"loss"``,
            ``"val_accuracy"``, ...); a warning if the logs lack it.
        verbose (int, default 0): 1 prints each save.
        save_best_only (bool, default False): only save when ``monitor`` improves (the
            file is overwritten each time if ``filepath`` has no placeholders).
        save_weights_only (bool, default True): must be True: minigrad saves weights, not
            whole models.
        mode (str, default "auto"): ``"min"`` (lower is better), ``"max"``, or ``"auto"``
            (max for accuracies, AUC, precision, recall; min otherwise).
        initial_value_threshold (float or None, default None): the value to beat before
            the first save (with ``save_best_only``); None: any first value.

    Raises:
        ValueError: if ``save_weights_only`` is False or ``mode`` unknown.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=True, mode="auto", initial_value_threshold=None):
        super().__init__()
        if not save_weights_only:
            raise ValueError("ModelCheckpoint: minigrad saves weights only; "
                             "save_weights_only must be True.")
        self.filepath = str(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self._set_mode(mode, monitor)
        self.initial_value_threshold = initial_value_threshold

    def on_train_begin(self, logs=None):
        if self.initial_value_threshold is not None:
            self.best = self.initial_value_threshold
        else:
            self.best = -np.inf if self.mode == "max" else np.inf

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **(logs or {}))
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: failed to format filepath {self.filepath!r}: "
                           f"{e} is not in the logs (available: epoch, "
                           f"{', '.join(sorted(logs or {}))}).") from None

    def on_epoch_end(self, epoch, logs=None):
        import os
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = self._get_monitor_value(logs)
            if current is None or not self.monitor_op(current, self.best):
                return
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.model.save_weights(path)


class LearningRateScheduler(Callback):
    """Set ``model.optimizer.learning_rate = schedule(epoch, current_lr)`` before each epoch.

    ``schedule`` may also take only the epoch. The rate used is added to the epoch's logs
    as ``"learning_rate"`` (so it shows up in the History)::

        LearningRateScheduler(lambda epoch, lr: lr if epoch < 5 else 0.01)

    Args:
        schedule (callable): ``schedule(epoch, lr)`` or ``schedule(epoch)`` -> the new
            rate, a finite float (epochs count from 0).
        verbose (int, default 0): 1 prints each new rate.

    Raises:
        TypeError: if ``schedule`` is not callable; ValueError (during ``fit``) if it
            returns something else than a finite number.

    Example:
        >>> model = mg.Sequential([layers.Dense(1, input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> decay = callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
        >>> history = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0,
        ...                     callbacks=[decay])
        >>> history.history["learning_rate"]
        [0.1, 0.05, 0.03333333333333333]
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: `schedule` must be callable, got "
                            f"{schedule!r}.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            raise ValueError("LearningRateScheduler: the model has no optimizer with a "
                             "`learning_rate`; compile it first.")
        current = float(optimizer.learning_rate)
        try:
            lr = self.schedule(epoch, current)
        except TypeError:
            lr = self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)) \
                or not math.isfinite(float(lr)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a finite "
                             f"float; got {lr!r} for epoch {epoch}.")
        optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(_MonitorMixin, Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved (by more
    than ``min_delta``) for ``patience`` epochs; then wait ``cooldown`` epochs before
    counting again. Never below ``min_lr``. Keras 3's rule; the rate before any change
    goes into the epoch's logs as ``learning_rate``::

        ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2)

    Args:
        monitor (str, default "val_loss"): the logged value to watch (``"loss"``,
            ``"val_accuracy"``, ...); a warning if the logs lack it.
        factor (float, default 0.1): the multiplier, in [0, 1).
        patience (int, default 10): epochs without improvement before a reduction.
        verbose (int, default 0): 1 prints each reduction.
        mode (str, default "auto"): ``"min"`` (lower is better), ``"max"``, or ``"auto"``
            (max for accuracies, AUC, precision, recall; min otherwise).
        min_delta (float, default 0.0001): the smallest change that counts as improving.
        cooldown (int, default 0): epochs to wait after a reduction before counting again.
        min_lr (float, default 0.0): the rate never goes below it.

    Raises:
        ValueError: for an argument out of range (named in the message).
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if not _real(factor) or not 0 <= factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: `factor` must be a number in [0, 1) (it "
                             f"multiplies the learning rate). Received: factor={factor!r}")
        for argument, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ReduceLROnPlateau: `{argument}` must be an integer >= 0. "
                                 f"Received: {argument}={value!r}")
        for argument, value in (("min_delta", min_delta), ("min_lr", min_lr)):
            if not _real(value) or value < 0:
                raise ValueError(f"ReduceLROnPlateau: `{argument}` must be a number >= 0. "
                                 f"Received: {argument}={value!r}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.verbose, self.cooldown, self.min_lr = verbose, cooldown, min_lr
        self._set_mode(mode, monitor)
        self.min_delta = abs(min_delta) if self.mode == "max" else -abs(min_delta)
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = self._get_monitor_value(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.best is None or self.monitor_op(current - self.min_delta, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            old = float(optimizer.learning_rate)
            if self.wait >= self.patience and old > np.float32(self.min_lr):
                new = max(old * self.factor, self.min_lr)
                optimizer.learning_rate = new
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                          f"to {new}.")
                self.cooldown_counter, self.wait = self.cooldown, 0


def _real(value):
    return not isinstance(value, bool) and isinstance(value, (int, float, np.number)) \
        and math.isfinite(value)


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` then the logs' keys, sorted (and their
    ``val_`` twins, written ``NA`` until there is validation), as Keras's CSVLogger.

    Args:
        filename (str or path): the CSV file.
        separator (str, default ","): the column separator, one character.
        append (bool, default False): add to an existing file (no second header) instead
            of overwriting it.

    Raises:
        TypeError: if ``filename`` is not a path; ValueError for a bad ``separator``.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"CSVLogger: `filename` must be a path, got {filename!r}.")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: `separator` must be one character. Received: "
                             f"separator={separator!r}")
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys, self.writer, self.csv_file = None, None, None

    def on_train_begin(self, logs=None):
        self._header = not (self.append and os.path.exists(self.filename)
                            and os.path.getsize(self.filename) > 0)
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys, self.writer = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            dialect = type("Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, ["epoch"] + self.keys, dialect=dialect)
            if self._header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        for key in self.keys:
            value = logs.get(key, "NA")
            if isinstance(value, collections.abc.Iterable) and not isinstance(value, str) \
                    and np.ndim(value) > 0:
                value = f'"[{", ".join(map(str, value))}]"'
            row[key] = value
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
