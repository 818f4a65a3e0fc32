"""Callbacks: hook order, History, EarlyStopping, TerminateOnNaN, ModelCheckpoint, Lambda."""
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import callbacks, layers, optimizers
from minigrad.models import Sequential


@pytest.fixture(autouse=True)
def _fresh():
    mg.clear_session()
    mg.set_random_seed(0)


def regression(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32")).astype("float32")
    return x, y


def linear(lr=0.05):
    model = Sequential([layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="mse")
    return model


def test_hook_order_and_logs():
    events = []

    class Recorder(callbacks.Callback):
        def on_train_begin(self, logs=None):
            events.append(("train_begin", self.model is model, self.params["epochs"],
                           self.params["steps"]))

        def on_epoch_begin(self, epoch, logs=None):
            events.append(("epoch_begin", epoch))

        def on_train_batch_begin(self, batch, logs=None):
            events.append(("batch_begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            events.append(("batch_end", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            events.append(("train_end",))

    x, y = regression(20)
    model = linear()
    model.fit(x, y, batch_size=8, epochs=2, validation_split=0.2, callbacks=[Recorder()],
              verbose=0)
    assert events[0] == ("train_begin", True, 2, 2)
    assert events[1:6] == [("epoch_begin", 0), ("batch_begin", 0), ("batch_end", 0, ["loss"]),
                           ("batch_begin", 1), ("batch_end", 1, ["loss"])]
    assert events[6] == ("epoch_end", 0, ["loss", "val_loss"])
    assert events[-1] == ("train_end",)
    assert len(events) == 14


def test_callbacks_must_be_callbacks():
    x, y = regression()
    with pytest.raises(TypeError, match="Callback instances"):
        linear().fit(x, y, callbacks=[lambda: None], verbose=0)


def test_history_records_every_epoch():
    x, y = regression()
    history = linear().fit(x, y, epochs=4, verbose=0)
    assert isinstance(history, callbacks.History)
    assert list(history.history) == ["loss"] and len(history.history["loss"]) == 4
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_early_stopping_patience_and_restore():
    x, y = regression()
    model = linear()
    # Validation loss that gets worse every epoch after the second (scripted).
    scripted = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    snapshots = []

    class Script(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = scripted[epoch]
            snapshots.append(self.model.get_weights())

    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=7, callbacks=[Script(), stop], verbose=0)
    assert len(history.history["loss"]) == 4          # epochs 0..3: best at 1, 2 bad epochs
    assert stop.stopped_epoch == 3 and stop.best == 0.5 and stop.best_epoch == 1
    for a, b in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_min_delta_and_mode():
    stop = callbacks.EarlyStopping(monitor="val_accuracy", min_delta=0.1, patience=0)
    assert stop.mode == "max"
    model = linear()
    stop.set_model(model)
    stop.on_train_begin()
    stop.on_epoch_end(0, {"val_accuracy": 0.5})
    stop.on_epoch_end(1, {"val_accuracy": 0.55})        # not better by > 0.1
    assert model.stop_training and stop.stopped_epoch == 1
    with pytest.raises(ValueError, match="mode"):
        callbacks.EarlyStopping(mode="up")


def test_early_stopping_on_real_training():
    x, y = regression(40)
    model = linear(lr=0.0)                                 # loss never improves
    stop = callbacks.EarlyStopping(monitor="loss", patience=1)
    history = model.fit(x, y, epochs=10, callbacks=[stop], verbose=0)
    assert len(history.history["loss"]) == 2


def test_terminate_on_nan_stops_training(capsys):
    x, y = regression(64)
    x[40] = np.nan                                         # batch 2 of size 16 -> NaN loss
    model = linear()
    seen = []
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                        callbacks=[callbacks.TerminateOnNaN(),
                                   callbacks.LambdaCallback(
                                       on_train_batch_end=lambda b, logs: seen.append(b))])
    assert seen == [0, 1, 2]
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
    assert model.stop_training
    assert "Invalid loss" in capsys.readouterr().out


def test_lambda_callback():
    calls = []
    cb = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: calls.append(epoch),
                                  on_train_begin=lambda logs: calls.append("begin"),
                                  on_batch_end=lambda batch, logs: None)
    x, y = regression()
    linear().fit(x, y, epochs=3, callbacks=[cb], verbose=0)
    assert calls == ["begin", 0, 1, 2]
    with pytest.raises(ValueError, match="unknown hook"):
        callbacks.LambdaCallback(on_everything=print)


def test_model_checkpoint_every_epoch_and_best_only(tmp_path):
    x, y = regression()
    model = linear()
    pattern = str(tmp_path / "ckpt" / "w-{epoch:02d}-{loss:.3f}.npz")
    history = model.fit(x, y, epochs=3, verbose=0,
                        callbacks=[callbacks.ModelCheckpoint(pattern, monitor="loss")])
    files = sorted(os.listdir(tmp_path / "ckpt"))
    assert len(files) == 3 and files[0].startswith("w-01-")
    assert f"{history.history['loss'][2]:.3f}" in files[2]
    final = Sequential([layers.Dense(1, input_shape=(4,))])
    final.load_weights(str(tmp_path / "ckpt" / files[2]))
    for a, b in zip(final.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)

    best = str(tmp_path / "best.npz")
    scripted = iter([3.0, 1.0, 2.0])
    snapshots = []

    class Script(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(scripted)
            snapshots.append(self.model.get_weights())

    checkpoint = callbacks.ModelCheckpoint(best, save_best_only=True)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[Script(), checkpoint])
    assert checkpoint.best == 1.0
    final.load_weights(best)
    for a, b in zip(final.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="weights only"):
        callbacks.ModelCheckpoint(best, save_weights_only=False)


def test_progbar_one_line_per_epoch(capsys):
    x, y = regression()
    linear().fit(x, y, epochs=2, validation_split=0.25, verbose=2)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("Epoch")]
    assert len(lines) == 2 and "val_loss" in lines[1]


def test_learning_rate_scheduler_sets_rate_and_logs_it():
    x, y = regression()
    model = linear(lr=0.1)
    seen = []
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: lr / 2 if epoch else lr)
    spy = callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: seen.append(float(model.optimizer.learning_rate)))
    history = model.fit(x, y, epochs=3, callbacks=[schedule, spy], verbose=0)
    assert seen == [0.1, 0.05, 0.025]
    assert history.history["learning_rate"] == [0.1, 0.05, 0.025]
    only_epoch = callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    model.fit(x, y, epochs=2, callbacks=[only_epoch], verbose=0)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.02)
    with pytest.raises(ValueError, match="finite float"):
        model.fit(x, y, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "fast")],
                  verbose=0)


# ------------------------------------------------------------------------ ReduceLROnPlateau
class Feed(callbacks.Callback):
    """Overwrites the monitored value with a scripted sequence (runs before the others)."""

    def __init__(self, values):
        super().__init__()
        self.values = list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_reduce_lr_on_plateau_patience_cooldown_and_floor():
    x, y = regression()
    model = linear(lr=0.1)
    # best, flat, flat (wait 2: reduce), cooldown ends and flat counts (wait 1), flat
    # (wait 2: reduce, floored at 0.002), then no reduction below min_lr.
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    reduce = callbacks.ReduceLROnPlateau(factor=0.1, patience=2, cooldown=1, min_lr=0.002)
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[Feed(values), reduce])
    # learning_rate in the logs is the rate the epoch trained with.
    assert history.history["learning_rate"] == pytest.approx(
        [0.1, 0.1, 0.1, 0.01, 0.01, 0.002, 0.002, 0.002, 0.002, 0.002])
    assert model.optimizer.learning_rate == pytest.approx(0.002)


def test_reduce_lr_on_plateau_min_delta_and_max_mode():
    x, y = regression()
    model = linear(lr=1.0)
    reduce = callbacks.ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1,
                                         min_delta=0.1)
    assert reduce.mode == "max"

    class FeedAccuracy(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_accuracy"] = [0.5, 0.55, 0.7, 0.75][epoch]
    model.fit(x, y, epochs=4, verbose=0, callbacks=[FeedAccuracy(), reduce])
    # 0.55 and 0.75 are within min_delta of the best: two reductions.
    assert model.optimizer.learning_rate == pytest.approx(0.25)


@pytest.mark.parametrize("kwargs, message", [
    (dict(factor=1.0), "factor=1.0"), (dict(factor=-0.5), "factor=-0.5"),
    (dict(patience=-1), "patience=-1"), (dict(cooldown=1.5), "cooldown=1.5"),
    (dict(min_lr=-1.0), "min_lr=-1.0"), (dict(mode="up"), "mode='up'"),
])
def test_reduce_lr_on_plateau_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        callbacks.ReduceLROnPlateau(**kwargs)


# ------------------------------------------------------------------------ CSVLogger
def test_csv_logger_writes_sorted_columns_and_appends(tmp_path):
    x, y = regression()
    path = tmp_path / "log.csv"
    model = linear()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(path)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1"]
    assert lines[1].endswith(",NA")
    assert float(lines[2].split(",")[1]) == pytest.approx(model.history.history["loss"][1])
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.25,
              callbacks=[callbacks.CSVLogger(path, separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0;") and lines[3].count(";") == 2
    with pytest.raises(ValueError, match="separator"):
        callbacks.CSVLogger(path, separator=";;")
