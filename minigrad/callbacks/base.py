"""The callback interface (``Callback``, ``CallbackList``) and the callbacks that need no
monitored value: ``History``, ``ProgbarLogger``, ``TerminateOnNaN``, ``LambdaCallback``."""
import math


class Callback:
    """Base class: every hook exists and does nothing; subclasses override the ones they need.

    ``fit`` calls ``set_model``/``set_params`` first (``self.model``, ``self.params`` with
    ``epochs``, ``steps``, ``verbose``), then the hooks: ``on_train_begin(logs)``,
    ``on_epoch_begin(epoch, logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_gradients(batch, gradients, weights)``, ``on_train_batch_end(batch,
    logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``. The ``on_test_*`` and
    ``on_predict_*`` hooks exist as in Keras, for callbacks written for it; minigrad's
    ``evaluate`` and ``predict`` take no callbacks and do not call them. Setting
    ``self.model.stop_training = True`` ends ``fit`` after the current batch or epoch.
    Takes no arguments.
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        """Called by ``fit`` before training: ``self.model`` is the model.

        Args:
            model (Model): the model being trained.
        """
        self.model = model

    def set_params(self, params):
        """Called by ``fit`` before training: ``self.params`` is a copy of ``params``.

        Args:
            params (dict): ``epochs``, ``steps``, ``verbose``, ``batch_size``, ``samples``.
        """
        self.params = dict(params)

    def on_train_begin(self, logs=None):
        """Called once, before the first epoch.

        Args:
            logs (dict or None, default None): empty here (Keras compatibility).
        """
        pass

    def on_train_end(self, logs=None):
        """Called once, after the last epoch (also after an early stop).

        Args:
            logs (dict or None, default None): the last epoch's logs.
        """
        pass

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of every epoch.

        Args:
            epoch (int): the epoch index, from 0 (or from ``initial_epoch``).
            logs (dict or None, default None): empty here (Keras compatibility).
        """
        pass

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of every epoch, after validation.

        Args:
            epoch (int): the epoch index, from 0 (or from ``initial_epoch``).
            logs (dict or None, default None): the epoch's ``loss`` and metrics (means over its
                batches), ``val_*`` when validated, ``learning_rate`` with a schedule.
                A callback may add keys (History records them).
        """
        pass

    def on_train_batch_begin(self, batch, logs=None):
        """Called before every training step.

        Args:
            batch (int): the batch index within the epoch, from 0.
            logs (dict or None, default None): empty here (Keras compatibility).
        """
        pass

    def on_train_batch_end(self, batch, logs=None):
        """Called after every training step.

        Args:
            batch (int): the batch index within the epoch, from 0.
            logs (dict or None, default None): the running means of ``loss`` and the
                metrics over the epoch so far.
        """
        pass

    def on_train_batch_gradients(self, batch, gradients, weights):
        """Called by ``fit`` / ``train_on_batch`` after each optimizer step with the step's
        gradients (Tensors, or None for a weight the loss does not reach), one per weight
        of ``weights`` (the model's trainable weights, already updated).

        Args:
            batch (int): the batch index within the epoch, from 0.
            gradients (list): one Tensor (or None) per weight.
            weights (list of Variable): the model's trainable weights.
        """

    def on_test_begin(self, logs=None):
        """Not called by minigrad (Keras compatibility).

        Args:
            logs (dict or None, default None): unused.
        """
        pass

    def on_test_end(self, logs=None):
        """Not called by minigrad (Keras compatibility).

        Args:
            logs (dict or None, default None): unused.
        """
        pass

    def on_test_batch_begin(self, batch, logs=None):
        """Not called by minigrad (Keras compatibility).

        Args:
            batch (int): unused.
            logs (dict or None, default None): unused.
        """
        pass

    def on_test_batch_end(self, batch, logs=None):
        """Not called by minigrad (Keras compatibility).

        Args:
            batch (int): unused.
            logs (dict or None, default None): unused.
        """
        pass

    def on_predict_begin(self, logs=None):
        """Not called by minigrad (Keras compatibility).

        Args:
            logs (dict or None, default None): unused.
        """
        pass

    def on_predict_end(self, logs=None):
        """Not called by minigrad (Keras compatibility).

        Args:
            logs (dict or None, default None): unused.
        """
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        """Not called by minigrad (Keras compatibility).

        Args:
            batch (int): unused.
            logs (dict or None, default None): unused.
        """
        pass

    def on_predict_batch_end(self, batch, logs=None):
        """Not called by minigrad (Keras compatibility).

        Args:
            batch (int): unused.
            logs (dict or None, default None): unused.
        """
        pass


class CallbackList:
    """Several callbacks called as one, in the order given: ``cbs.on_epoch_end(3, logs)``
    calls every callback's ``on_epoch_end(3, logs)``.

    Args:
        callbacks (list of Callback or None, default None): the callbacks.
        model (Model or None, default None): given to each callback's ``set_model``.
        params (dict or None, default None): given to each callback's ``set_params``.

    Raises:
        TypeError: if an item is not a :class:`Callback`.
    """

    def __init__(self, callbacks=None, model=None, params=None):
        self.callbacks = []
        for cb in callbacks or []:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be minigrad.callbacks.Callback instances, "
                                f"got {cb!r} (of type {type(cb).__name__}).")
            self.callbacks.append(cb)
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            if params is not None:
                cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call_all(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)
        return call_all


class History(Callback):
    """Records the logs of every epoch: ``history.history["loss"][epoch]``.

    ``fit`` adds one and returns it; ``history.epoch`` lists the epoch indices that ran
    (they start at ``initial_epoch``). Takes no arguments.

    Example:
        >>> model = mg.Sequential([layers.Dense(1, input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0)
        >>> history.epoch, sorted(history.history)
        ([0, 1], ['loss'])
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


def _format_logs(logs):
    return "  ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}"
                     for k, v in logs.items())


class ProgbarLogger(Callback):
    """Prints progress: a tqdm bar per epoch (``verbose=1``) or one line per epoch (2).

    Without tqdm installed, ``verbose=1`` falls back to one line per epoch. ``fit(verbose=)``
    adds one.

    Args:
        verbose (int, default 1): 1 a progress bar per epoch, 2 one line per epoch, 0
            nothing.
        file (file object or None, default None): where to write; None is stderr for the
            bar, stdout for the lines.
    """

    def __init__(self, verbose=1, file=None):
        super().__init__()
        self.verbose = verbose
        self.file = file
        self._bar = None

    def _out(self):
        return self.file          # None: tqdm writes to stderr, print to stdout

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", "?")
        self._epoch_label = f"Epoch {epoch + 1}/{epochs}"
        if self.verbose == 1:
            from tqdm.auto import tqdm
            self._bar = tqdm(total=self.params.get("steps"), desc=self._epoch_label,
                             unit="batch", file=self._out(), leave=True, dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items()},
                                  refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            self._bar.close()
            self._bar = None
        elif self.verbose in (1, 2):
            print(f"{self._epoch_label}  {_format_logs(logs)}", file=self._out(), flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:          # training stopped in the middle of an epoch
            self._bar.close()
            self._bar = None


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite (it prints the batch).

    Takes no arguments; :func:`minigrad.inspection.find_nonfinite` then tells where the
    first non-finite value came from.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``.

    Accepted: ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``
    (and the ``on_test_*``/``on_predict_*`` hooks; ``on_batch_begin``/``on_batch_end``
    are Keras's aliases of the train-batch hooks).

    Args:
        **hooks: hook name -> function (or None, ignored).

    Raises:
        ValueError: for an unknown hook name. TypeError: for a hook that is not callable.

    Example:
        >>> model = mg.Sequential([layers.Dense(1, input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> seen = []
        >>> remember = callbacks.LambdaCallback(
        ...     on_epoch_end=lambda epoch, logs: seen.append(epoch))
        >>> history = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0,
        ...                     callbacks=[remember])
        >>> seen
        [0, 1, 2]
    """

    _ALIASES = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            name = self._ALIASES.get(name, name)
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; valid hooks: "
                                 f"{', '.join(h for h in dir(Callback) if h.startswith('on_'))}")
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {name} must be callable, got {fn!r}.")
                setattr(self, name, fn)
