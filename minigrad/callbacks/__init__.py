"""Callbacks: code that ``fit`` runs at fixed points of training.

``fit`` calls, in this order::

    on_train_begin(logs)
    for each epoch:
        on_epoch_begin(epoch, logs)
        for each batch:
            on_train_batch_begin(batch, logs)
            ...one optimizer step...
            on_train_batch_end(batch, logs)      # logs: running mean loss and metrics
        ...validation...
        on_epoch_end(epoch, logs)                # logs: loss, metrics, val_loss, val_...
    on_train_end(logs)

A callback reaches the model through ``self.model``; setting
``self.model.stop_training = True`` ends training after the current batch (the epoch
still ends normally, with ``on_epoch_end``).

    History          records every epoch's logs (``fit`` always adds one and returns it)
    ProgbarLogger    the progress bar (``verbose=1``) or one line per epoch (``verbose=2``)
    EarlyStopping    stop when a monitored value stops improving
    TerminateOnNaN   stop as soon as the loss is NaN or infinite
    ModelCheckpoint  save the weights (``.npz``) every epoch or when the value improves
    LearningRateScheduler  set the optimizer's learning rate at the start of each epoch
    ReduceLROnPlateau      divide the learning rate when a monitored value stops improving
    CSVLogger        append every epoch's logs to a CSV file
    LambdaCallback   any of the hooks, given as plain functions

Callbacks that change the learning rate put it in the epoch's logs as ``learning_rate``
(so does ``fit`` when the rate follows a schedule).
"""
from .base import Callback, CallbackList, History, LambdaCallback, ProgbarLogger, TerminateOnNaN
from .gradient_stats import GradientStats
from .monitoring import (CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint,
                         ReduceLROnPlateau)

__all__ = ["Callback", "CallbackList", "GradientStats", "History", "ProgbarLogger",
           "EarlyStopping", "TerminateOnNaN", "ModelCheckpoint", "LambdaCallback",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger"]
