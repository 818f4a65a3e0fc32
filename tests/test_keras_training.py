"""Training cross-check against Keras 3 (torch backend), when both are installed.

The same Sequential model (a SeparableConv1D with an L2 penalty and a MaxNorm constraint,
then Dense), the same initial weights, the same batches in the same order and SGD with
momentum, Nesterov, decoupled weight decay and clipping: after a few steps of ``fit`` both
frameworks hold the same weights and report the same losses. This checks the whole training
step end to end: loss + penalties, gradients, the optimizer's order (clip, weight decay,
momentum update, then constraints).
"""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("torch")
try:
    import keras
except Exception as error:                      # ImportError, or a backend that won't load
    pytest.skip(f"keras unavailable: {error}", allow_module_level=True)
if keras.backend.backend() != "torch":
    pytest.skip(f"keras runs on {keras.backend.backend()!r}", allow_module_level=True)

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
