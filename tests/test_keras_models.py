"""Functional models against Keras 3 (torch backend), when both are installed.

The same residual graph built with both APIs after clearing the name counters: the
layers come in the same order with the same automatic names and parameter counts, so
``set_weights(get_weights())`` carries weights across; then forward values, gradients of
every weight, and the weights and per-output losses after a few steps of ``fit`` agree.
"""

import numpy as np
import pytest

from conftest import keras_or_skip

keras = keras_or_skip(module_level=True)
import torch  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import layers, losses, optimizers  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _residual(lib, two_outputs=False):
    """A small inverted-residual-like graph with a skip connection and a branch."""
    L = lib.layers
    inputs = lib.Input((8, 8, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    shortcut = x
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.Conv2D(8, 1)(x)
    x = L.Add()([x, shortcut])
    pooled = L.GlobalAveragePooling2D()(x)
    side = L.Flatten()(L.MaxPooling2D(2)(shortcut))
    merged = L.Concatenate()([pooled, side])
    out = L.Dense(3)(merged)
    if two_outputs:
        return lib.Model(inputs, [out, L.Dense(1)(pooled)])
    return lib.Model(inputs, out)


def _pair(two_outputs=False):
    mg.clear_session()
    keras.backend.clear_session()
    mine, theirs = _residual(mg, two_outputs), _residual(keras, two_outputs)
    theirs.set_weights(mine.get_weights())
    return mine, theirs


def test_same_layers_names_and_parameter_counts_as_keras():
    mine, theirs = _pair()
    assert [l.name for l in mine.layers] == [l.name for l in theirs.layers]
    assert [type(l).__name__ for l in mine.layers] == [type(l).__name__ for l in theirs.layers]
    assert [l.count_params() for l in mine.layers] == [l.count_params() for l in theirs.layers]
    assert [w.shape for w in mine.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert mine.count_params() == theirs.count_params()
    assert len(mine.trainable_weights) == len(theirs.trainable_weights)


def test_forward_and_gradients_match_keras():
    mine, theirs = _pair()
    x = np.random.default_rng(0).standard_normal((4, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(mine(x).data, np.asarray(theirs(x).detach().cpu()),
                               rtol=1e-4, atol=1e-5)
    with mg.GradientTape() as tape:
        loss = (mine(x, training=True) ** 2).sum()
    grads = tape.gradient(loss, mine.trainable_weights)
    out = theirs(torch.tensor(x), training=True)
    variables = [v.value for v in theirs.trainable_weights]
    theirs_grads = torch.autograd.grad((out ** 2).sum(), variables)
    np.testing.assert_allclose(float(loss.data), float((out ** 2).sum()), rtol=1e-4)
    for g, t in zip(grads, theirs_grads):
        np.testing.assert_allclose(g, t.detach().cpu().numpy(), rtol=1e-3, atol=1e-4)


def test_fit_ends_with_the_same_weights_and_per_output_losses_as_keras():
    mine, theirs = _pair(two_outputs=True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 8, 8, 3)).astype("float32")
    y_class, y_value = rng.integers(0, 3, 16), rng.standard_normal((16, 1)).astype("float32")
    mine.compile(optimizers.SGD(0.05, momentum=0.9),
                 loss=[losses.SparseCategoricalCrossentropy(from_logits=True), "mse"],
                 loss_weights=[1.0, 0.5], metrics=[["accuracy"], ["mae"]])
    theirs.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                   loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True), "mse"],
                   loss_weights=[1.0, 0.5], metrics=[["accuracy"], ["mae"]])
    h_mine = mine.fit(x, [y_class, y_value], batch_size=8, epochs=2, shuffle=False,
                      verbose=0).history
    h_theirs = theirs.fit(x, [y_class, y_value], batch_size=8, epochs=2, shuffle=False,
                          verbose=0).history
    assert sorted(h_mine) == sorted(h_theirs)
    for key in h_theirs:
        np.testing.assert_allclose(h_mine[key], h_theirs[key], rtol=1e-4, err_msg=key)
    for w_mine, w_theirs in zip(mine.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w_mine, w_theirs, rtol=1e-3, atol=1e-5)
