"""Every optimizer and every learning-rate schedule against Keras 3 (torch backend).

The same small model (Dense with an L2 penalty and a MaxNorm constraint, then Dense; a
SeparableConv1D in front for two cases), the same initial weights, the same batches in the
same order: after ``fit`` both frameworks report the same per-epoch losses and hold the
same weights. Each optimizer runs with its defaults, with non-default arguments, with
clipping and with weight decay.
"""

import numpy as np
import pytest

from conftest import keras_or_skip

keras = keras_or_skip(module_level=True)

import minigrad as mg  # noqa: E402
from minigrad import constraints, layers, losses, optimizers, regularizers  # noqa: E402
from minigrad.optimizers import schedules  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CASES = {
    "adam": ("Adam", dict(learning_rate=0.01)),
    "adam-defaults": ("Adam", dict()),
    "adam-amsgrad": ("Adam", dict(learning_rate=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-3,
                                  amsgrad=True)),
    "adam-clipnorm-wd": ("Adam", dict(learning_rate=0.01, clipnorm=0.5, weight_decay=0.05)),
    "adamw": ("AdamW", dict(learning_rate=0.01)),
    "adamw-global_clipnorm": ("AdamW", dict(learning_rate=0.01, weight_decay=0.1,
                                            global_clipnorm=0.3, amsgrad=True)),
    "rmsprop": ("RMSprop", dict(learning_rate=0.01)),
    "rmsprop-defaults": ("RMSprop", dict()),
    "rmsprop-centered-momentum": ("RMSprop", dict(learning_rate=0.005, rho=0.8, momentum=0.5,
                                                  epsilon=1e-4, centered=True)),
    "rmsprop-clipvalue-wd": ("RMSprop", dict(learning_rate=0.01, clipvalue=0.05,
                                             weight_decay=0.02)),
    "adagrad": ("Adagrad", dict(learning_rate=0.05)),
    "adagrad-defaults": ("Adagrad", dict()),
    "adagrad-args-clipnorm": ("Adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.5,
                                              epsilon=1e-3, clipnorm=0.2, weight_decay=0.01)),
    "adamax": ("Adamax", dict(learning_rate=0.01)),
    "adamax-defaults": ("Adamax", dict()),
    "adamax-args-clipvalue": ("Adamax", dict(learning_rate=0.02, beta_1=0.7, beta_2=0.9,
                                             epsilon=1e-3, clipvalue=0.1, weight_decay=0.03)),
    "nadam": ("Nadam", dict(learning_rate=0.01)),
    "nadam-defaults": ("Nadam", dict()),
    "nadam-args-global_clipnorm": ("Nadam", dict(learning_rate=0.02, beta_1=0.8, beta_2=0.99,
                                                 epsilon=1e-4, global_clipnorm=0.4,
                                                 weight_decay=0.02)),
    "sgd-defaults": ("SGD", dict()),
}

SCHEDULES = {
    "ExponentialDecay": dict(initial_learning_rate=0.05, decay_steps=2, decay_rate=0.5),
    "ExponentialDecay-staircase": dict(initial_learning_rate=0.05, decay_steps=2,
                                       decay_rate=0.5, staircase=True),
    "PiecewiseConstantDecay": dict(boundaries=[1, 3], values=[0.05, 0.02, 0.01]),
    "PolynomialDecay": dict(initial_learning_rate=0.05, decay_steps=4, end_learning_rate=0.001,
                            power=2.0),
    "PolynomialDecay-cycle": dict(initial_learning_rate=0.05, decay_steps=4, power=0.5,
                                  cycle=True),
    "InverseTimeDecay": dict(initial_learning_rate=0.05, decay_steps=2, decay_rate=0.7),
    "InverseTimeDecay-staircase": dict(initial_learning_rate=0.05, decay_steps=2,
                                       decay_rate=0.7, staircase=True),
    "CosineDecay": dict(initial_learning_rate=0.05, decay_steps=4, alpha=0.1),
    "CosineDecay-warmup": dict(initial_learning_rate=0.0, decay_steps=3, warmup_target=0.05,
                               warmup_steps=2),
    "CosineDecayRestarts": dict(initial_learning_rate=0.05, first_decay_steps=2, t_mul=2.0,
                                m_mul=0.8, alpha=0.05),
    "CosineDecayRestarts-t_mul1": dict(initial_learning_rate=0.05, first_decay_steps=2,
                                       t_mul=1.0),
}


def models(conv=False):
    """The same model in both frameworks, Keras's holding minigrad's initial weights: a
    Dense layer with an L2 penalty and a MaxNorm constraint, then Dense (or, with ``conv``,
    the same around a SeparableConv1D, slower in Keras)."""
    if conv:
        first = [layers.SeparableConv1D(4, 3, padding="same", depth_multiplier=2,
                                        activation="tanh",
                                        depthwise_regularizer=regularizers.L2(0.01),
                                        pointwise_constraint=constraints.MaxNorm(1.0,
                                                                                 axis=[0, 1]),
                                        input_shape=(12, 3)), layers.Flatten()]
        first_keras = [keras.Input((12, 3)),
                       keras.layers.SeparableConv1D(
                           4, 3, padding="same", depth_multiplier=2, activation="tanh",
                           depthwise_regularizer=keras.regularizers.L2(0.01),
                           pointwise_constraint=keras.constraints.MaxNorm(1.0, axis=[0, 1])),
                       keras.layers.Flatten()]
    else:
        first = [layers.Dense(6, activation="tanh", kernel_regularizer=regularizers.L2(0.01),
                              kernel_constraint=constraints.MaxNorm(1.0), input_shape=(5,))]
        first_keras = [keras.Input((5,)),
                       keras.layers.Dense(6, activation="tanh",
                                          kernel_regularizer=keras.regularizers.L2(0.01),
                                          kernel_constraint=keras.constraints.MaxNorm(1.0))]
    mine = mg.Sequential(first + [layers.Dense(2)])
    theirs = keras.Sequential(first_keras + [keras.layers.Dense(2)])
    theirs.set_weights(mine.get_weights())
    return mine, theirs


def data(seed=0, n=24, conv=False):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 12, 3) if conv else (n, 5)).astype("float32"),
            rng.standard_normal((n, 2)).astype("float32"))


def assert_same_training(mine, theirs, h_mine, h_theirs):
    """Same per-epoch losses and weights to float32 rounding (measured: at most 1.5e-7
    apart in any weight, 2e-7 relative in any loss)."""
    np.testing.assert_allclose(h_mine.history["loss"], h_theirs.history["loss"], rtol=1e-5)
    for w_mine, w_theirs in zip(mine.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w_mine, w_theirs, rtol=1e-5, atol=1e-6)


def train_both(optimizer_mine, optimizer_theirs, epochs=3, conv=False):
    x, y = data(conv=conv)
    mine, theirs = models(conv)
    mine.compile(optimizer=optimizer_mine, loss=losses.MeanSquaredError())
    theirs.compile(optimizer=optimizer_theirs, loss="mse")
    h_mine = mine.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return mine, theirs, h_mine, h_theirs


@pytest.mark.parametrize("case", sorted(CASES))
def test_optimizer_trains_like_keras(case):
    class_name, kwargs = CASES[case]
    mine, theirs, h_mine, h_theirs = train_both(getattr(optimizers, class_name)(**kwargs),
                                                getattr(keras.optimizers, class_name)(**kwargs))
    assert_same_training(mine, theirs, h_mine, h_theirs)
    assert mine.optimizer.iterations == int(theirs.optimizer.iterations.numpy()) == 9


@pytest.mark.parametrize("case", ["adam-amsgrad", "rmsprop-centered-momentum"])
def test_optimizer_trains_a_separable_convolution_like_keras(case):
    class_name, kwargs = CASES[case]
    assert_same_training(*train_both(getattr(optimizers, class_name)(**kwargs),
                                     getattr(keras.optimizers, class_name)(**kwargs),
                                     epochs=2, conv=True))


@pytest.mark.parametrize("case", sorted(SCHEDULES))
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_schedule_trains_like_keras(case, optimizer):
    class_name = case.split("-")[0]
    kwargs = SCHEDULES[case]
    extra = dict(momentum=0.5) if optimizer == "SGD" else {}
    mine_schedule = getattr(schedules, class_name)(**kwargs)
    theirs_schedule = getattr(keras.optimizers.schedules, class_name)(**kwargs)
    for step in range(12):
        assert mine_schedule(step) == pytest.approx(float(theirs_schedule(step)), rel=1e-5,
                                                    abs=1e-9)
    mine, theirs, h_mine, h_theirs = train_both(
        getattr(optimizers, optimizer)(learning_rate=mine_schedule, **extra),
        getattr(keras.optimizers, optimizer)(learning_rate=theirs_schedule, **extra))
    assert_same_training(mine, theirs, h_mine, h_theirs)


@pytest.mark.parametrize("class_name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
                                        "Adamax", "Nadam"])
def test_config_keys_and_defaults_match_keras(class_name):
    """Every Keras config key we implement has the same default value."""
    mine = getattr(optimizers, class_name)().get_config()
    theirs = getattr(keras.optimizers, class_name)().get_config()
    for key, value in mine.items():
        if key == "name":
            continue
        assert key in theirs, key
        assert value == pytest.approx(theirs[key]) if isinstance(value, float) \
            else value == theirs[key], key


def test_schedule_configs_match_keras():
    for class_name, kwargs in SCHEDULES.items():
        class_name = class_name.split("-")[0]
        mine = getattr(schedules, class_name)(**kwargs).get_config()
        theirs = getattr(keras.optimizers.schedules, class_name)(**kwargs).get_config()
        assert mine == theirs, class_name
