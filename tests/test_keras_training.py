"""Training cross-check against Keras 3 (torch backend), when both are installed.

The same Sequential model (a SeparableConv1D with an L2 penalty and a MaxNorm constraint,
then Dense), the same initial weights, the same batches in the same order and SGD with
momentum, Nesterov, decoupled weight decay and clipping: after a few steps of ``fit`` both
frameworks hold the same weights and report the same losses. This checks the whole training
step end to end: loss + penalties, gradients, the optimizer's order (clip, weight decay,
momentum update, then constraints).
"""

import numpy as np
import pytest

from conftest import keras_or_skip

keras = keras_or_skip(module_level=True)

import minigrad as mg  # noqa: E402
from minigrad import constraints, layers, losses, optimizers, regularizers  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

OPTIMIZERS = {
    "momentum": dict(learning_rate=0.05, momentum=0.9),
    "nesterov+weight_decay": dict(learning_rate=0.05, momentum=0.8, nesterov=True,
                                  weight_decay=0.01),
    "clipnorm": dict(learning_rate=0.1, clipnorm=0.5),
    "global_clipnorm": dict(learning_rate=0.1, momentum=0.5, global_clipnorm=0.3),
}


def _models():
    mine = mg.Sequential([
        layers.SeparableConv1D(4, 3, padding="same", depth_multiplier=2, activation="tanh",
                               depthwise_regularizer=regularizers.L2(0.01),
                               pointwise_constraint=constraints.MaxNorm(1.0, axis=[0, 1]),
                               input_shape=(12, 3)),
        layers.Flatten(),
        layers.Dense(2),
    ])
    theirs = keras.Sequential([
        keras.Input((12, 3)),
        keras.layers.SeparableConv1D(4, 3, padding="same", depth_multiplier=2,
                                     activation="tanh",
                                     depthwise_regularizer=keras.regularizers.L2(0.01),
                                     pointwise_constraint=keras.constraints.MaxNorm(1.0,
                                                                                    axis=[0, 1])),
        keras.layers.Flatten(),
        keras.layers.Dense(2),
    ])
    theirs.set_weights(mine.get_weights())
    return mine, theirs


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fit_ends_with_the_same_weights_as_keras(name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 12, 3)).astype("float32")
    y = rng.standard_normal((24, 2)).astype("float32")
    mine, theirs = _models()
    mine.compile(optimizer=optimizers.SGD(**OPTIMIZERS[name]), loss=losses.MeanSquaredError())
    theirs.compile(optimizer=keras.optimizers.SGD(**OPTIMIZERS[name]), loss="mse")
    h_mine = mine.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_mine.history["loss"], h_theirs.history["loss"], rtol=1e-4)
    for w_mine, w_theirs in zip(mine.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w_mine, w_theirs, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------ weighted data, generators
def _classifiers():
    mg.set_random_seed(0)
    mine = mg.Sequential([
        layers.Dense(6, activation="tanh", kernel_regularizer=regularizers.L2(0.01),
                     kernel_constraint=constraints.MaxNorm(1.5), input_shape=(5,)),
        layers.Dense(3, activation="softmax"),
    ])
    theirs = keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(6, activation="tanh", kernel_regularizer=keras.regularizers.L2(0.01),
                           kernel_constraint=keras.constraints.MaxNorm(1.5)),
        keras.layers.Dense(3, activation="softmax"),
    ])
    theirs.set_weights(mine.get_weights())
    kwargs = dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    mine.compile(optimizer=optimizers.Adam(0.02), **kwargs)
    theirs.compile(optimizer=keras.optimizers.Adam(0.02), **kwargs)
    return mine, theirs


def _classification_data(n=24):
    rng = np.random.default_rng(3)
    return (rng.standard_normal((n, 5)).astype("float32"), rng.integers(0, 3, n),
            rng.uniform(0.0, 2.0, n).astype("float32"))


def _assert_same(mine, theirs, h_mine, h_theirs):
    np.testing.assert_allclose(h_mine.history["loss"], h_theirs.history["loss"], rtol=1e-4)
    for w_mine, w_theirs in zip(mine.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w_mine, w_theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("weighting", ["sample_weight", "class_weight"])
def test_weighted_fit_and_evaluate_match_keras(weighting):
    x, y, w = _classification_data()
    mine, theirs = _classifiers()
    kwargs = ({"sample_weight": w} if weighting == "sample_weight"
              else {"class_weight": {0: 0.3, 1: 1.0, 2: 2.5}})
    fit = dict(batch_size=8, epochs=3, shuffle=False, verbose=0,
               validation_data=(x[:10], y[:10], w[:10]), **kwargs)
    h_mine, h_theirs = mine.fit(x, y, **fit), theirs.fit(x, y, **fit)
    _assert_same(mine, theirs, h_mine, h_theirs)
    for key in ("accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(h_mine.history[key], h_theirs.history[key], rtol=1e-4)
    mine_logs = mine.evaluate(x, y, sample_weight=w, batch_size=7, return_dict=True, verbose=0)
    theirs_logs = theirs.evaluate(x, y, sample_weight=w, batch_size=7, return_dict=True,
                                  verbose=0)
    assert set(mine_logs) == set(theirs_logs)
    for key in mine_logs:
        assert mine_logs[key] == pytest.approx(theirs_logs[key], rel=1e-4), key


def test_generator_fit_matches_keras():
    x, y, w = _classification_data()

    def batches():
        while True:
            for start in range(0, 24, 8):
                yield x[start:start + 8], y[start:start + 8], w[start:start + 8]
    mine, theirs = _classifiers()
    h_mine = mine.fit(batches(), steps_per_epoch=3, epochs=3, verbose=0)
    h_theirs = theirs.fit(batches(), steps_per_epoch=3, epochs=3, verbose=0)
    _assert_same(mine, theirs, h_mine, h_theirs)


def test_reduce_lr_on_plateau_and_csv_logger_match_keras(tmp_path):
    x, y, _ = _classification_data()
    mine, theirs = _classifiers()
    args = dict(monitor="loss", factor=0.5, patience=1, min_delta=0.3, cooldown=1)
    fit = dict(batch_size=8, epochs=6, shuffle=False, verbose=0, validation_data=(x, y))
    h_mine = mine.fit(x, y, callbacks=[mg.callbacks.ReduceLROnPlateau(**args),
                                       mg.callbacks.CSVLogger(tmp_path / "mine.csv")], **fit)
    h_theirs = theirs.fit(x, y, callbacks=[keras.callbacks.ReduceLROnPlateau(**args),
                                           keras.callbacks.CSVLogger(tmp_path / "keras.csv")],
                          **fit)
    _assert_same(mine, theirs, h_mine, h_theirs)
    np.testing.assert_allclose(h_mine.history["learning_rate"],
                               h_theirs.history["learning_rate"], rtol=1e-6)
    assert min(h_mine.history["learning_rate"]) < 0.02          # it did reduce
    mine_rows = (tmp_path / "mine.csv").read_text().splitlines()
    theirs_rows = (tmp_path / "keras.csv").read_text().splitlines()
    assert mine_rows[0] == theirs_rows[0] and len(mine_rows) == len(theirs_rows) == 7
    for a, b in zip(mine_rows[1:], theirs_rows[1:]):
        np.testing.assert_allclose([float(v) for v in a.split(",")],
                                   [float(v) for v in b.split(",")], rtol=1e-4)
