"""Core layers: Dense, Flatten, Reshape, Activation, Dropout, ActivityRegularization,
InputLayer / Input — known values, gradients, parameter counts, configs and errors."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers, regularizers

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------------------
# Dense
# ----------------------------------------------------------------------------------------

def test_dense_known_values_and_param_count():
    layer = layers.Dense(10)
    x = RNG.normal(size=(4, 8)).astype("float32")
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (8, 10) and bias.shape == (10,)
    np.testing.assert_allclose(y.numpy(), x @ kernel + bias, rtol=1e-6)
    assert layer.count_params() == 90                       # Keras: Dense(10) on 8 -> 90
    assert [w.path for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]
    assert y.dtype == np.float32


def test_dense_glorot_uniform_range_and_zero_bias():
    layer = layers.Dense(50, dtype="float64")
    layer.build((None, 30))
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6 / (30 + 50))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.8 * limit
    assert not bias.any()
    layer(np.zeros((2, 30)))                       # built by build(): no second set of weights
    assert len(layer.weights) == 2


def test_dense_on_higher_rank_inputs_uses_last_axis():
    layer = layers.Dense(3, activation="relu", use_bias=False, dtype="float64")
    x = RNG.normal(size=(2, 5, 4))
    y = layer(x)
    assert y.shape == (2, 5, 3) == layer.compute_output_shape((2, 5, 4))
    np.testing.assert_allclose(y.numpy(), np.maximum(x @ layer.get_weights()[0], 0))
    assert layer.count_params() == 12


def test_dense_gradcheck_input_and_weights():
    layer = layers.Dense(3, activation="tanh", dtype="float64",
                         bias_initializer="random_normal")
    x = RNG.normal(size=(4, 5))
    layer(x)
    mg.gradcheck(lambda t, k, b: layer(t), [x, layer.kernel, layer.bias])


def test_dense_regularizers_constraints_and_config():
    layer = layers.Dense(4, kernel_regularizer="l2", bias_regularizer=regularizers.L1(0.5),
                         activity_regularizer="l2", kernel_constraint="non_neg",
                         dtype="float64")
    x = RNG.normal(size=(3, 2))
    y = layer(x)
    losses = layer.losses
    assert len(losses) == 3
    np.testing.assert_allclose(float(losses[0].data), 0.01 * (y.numpy() ** 2).sum() / 3)
    np.testing.assert_allclose(float(losses[1].data), 0.01 * (layer.kernel.numpy() ** 2).sum())
    assert layer.kernel.constraint is not None
    config = layer.get_config()
    assert config["units"] == 4 and config["activation"] == "linear"
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert config["kernel_regularizer"]["class_name"] == "L2"
    clone = layers.Dense.from_config(config)
    assert clone.units == 4 and clone.name == layer.name and not clone.built


def test_dense_rejects_input_with_other_features_after_build():
    layer = layers.Dense(2)
    layer(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.zeros((1, 4)))


@pytest.mark.parametrize("kwargs,match", [
    ({"units": 0}, "units"), ({"units": -3}, "units"), ({"units": 2.5}, "units"),
    ({"units": True}, "units"), ({"units": 2, "activation": "nope"}, "activation"),
    ({"units": 2, "use_bias": "yes"}, "use_bias"),
    ({"units": 2, "kernel_initializer": "nope"}, "initializer"),
    ({"units": 2, "kernel_regularizer": "nope"}, "regularizer"),
    ({"units": 2, "bias_constraint": "nope"}, "constraint"),
    ({"units": 2, "foo": 1}, "foo"),
])
def test_dense_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Dense(**kwargs)


def test_dense_wrong_rank():
    with pytest.raises(ValueError, match="min_ndim=2"):
        layers.Dense(2)(np.zeros(3))


# ----------------------------------------------------------------------------------------
# Flatten, Reshape, Activation
# ----------------------------------------------------------------------------------------

def test_flatten():
    x = RNG.normal(size=(2, 3, 4, 5))
    layer = layers.Flatten(dtype="float64")
    np.testing.assert_array_equal(layer(x).numpy(), x.reshape(2, -1))
    assert layer.compute_output_shape((None, 3, 4, 5)) == (None, 60)
    assert layer.compute_output_shape((None, None, 4)) == (None, None)
    assert layers.Flatten()(np.zeros(3)).shape == (3, 1)
    mg.gradcheck(lambda t: layer(t), [x[:, :2, :2, :2]])


def test_flatten_errors():
    with pytest.raises(ValueError, match="data_format"):
        layers.Flatten(data_format="NCHW")
    with pytest.raises(ValueError, match="min_ndim=1"):
        layers.Flatten()(np.float32(3.0))


def test_flatten_channels_first_matches_channels_last_order():
    x = RNG.normal(size=(2, 3, 4, 5))                                  # (N, C, H, W)
    y = layers.Flatten(data_format="channels_first", dtype="float64")(x).numpy()
    np.testing.assert_array_equal(y, np.moveaxis(x, 1, -1).reshape(2, -1))
    assert layers.Flatten(data_format="channels_first").get_config()["data_format"] \
        == "channels_first"


def test_reshape():
    x = RNG.normal(size=(2, 3, 4))
    layer = layers.Reshape((4, 3), dtype="float64")
    np.testing.assert_array_equal(layer(x).numpy(), x.reshape(2, 4, 3))
    assert layers.Reshape((-1, 2))(x).shape == (2, 6, 2)
    assert layers.Reshape((-1, 2)).compute_output_shape((None, 3, 4)) == (None, 6, 2)
    assert layers.Reshape(12).compute_output_shape((5, 3, 4)) == (5, 12)
    assert layer.get_config()["target_shape"] == (4, 3)
    mg.gradcheck(lambda t: layer(t), [x])


@pytest.mark.parametrize("target,shape,match", [
    ((5, 3), (2, 3, 4), "must equal the size"),
    ((-1, 5), (2, 3, 4), "not divisible"),
])
def test_reshape_size_errors(target, shape, match):
    with pytest.raises(ValueError, match=match):
        layers.Reshape(target)(np.zeros(shape))


@pytest.mark.parametrize("target,exc", [((-1, -1), ValueError), ((0, 3), ValueError),
                                        ((2.0, 3), ValueError), ("ab", ValueError),
                                        (None, TypeError)])
def test_reshape_constructor_errors(target, exc):
    with pytest.raises(exc, match="target_shape"):
        layers.Reshape(target)


def test_activation():
    x = RNG.normal(size=(3, 4))
    layer = layers.Activation("relu", dtype="float64")
    np.testing.assert_array_equal(layer(x).numpy(), np.maximum(x, 0))
    assert layer.get_config()["activation"] == "relu"
    soft = layers.Activation("softmax", dtype="float64")
    np.testing.assert_allclose(soft(x).numpy().sum(-1), 1)
    mg.gradcheck(lambda t: soft(t), [x])
    assert layers.Activation(lambda t: t * 2, dtype="float64")(x).numpy()[0, 0] == 2 * x[0, 0]
    with pytest.raises(ValueError, match="nope"):
        layers.Activation("nope")


# ----------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------

def test_dropout_identity_unless_training():
    x = RNG.normal(size=(10, 10))
    layer = layers.Dropout(0.5, dtype="float64")
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    assert not np.array_equal(layer(x, training=True).numpy(), x)
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True).numpy(),
                                  x.astype("float32"))


def test_dropout_statistics_and_scaling():
    rate = 0.3
    x = np.ones((200, 500))
    y = layers.Dropout(rate, dtype="float64")(x, training=True).numpy()
    kept = y != 0
    assert abs(1 - kept.mean() - rate) < 0.01                  # ~30% dropped
    np.testing.assert_allclose(y[kept], 1 / (1 - rate))       # inverted scaling
    assert abs(y.mean() - 1) < 0.02                            # expectation unchanged


def test_dropout_gradient_uses_the_same_mask():
    x = mg.Tensor(RNG.normal(size=(6, 7)))
    layer = layers.Dropout(0.4, seed=3, dtype="float64")
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        total = y.sum()
    grad = tape.gradient(total, x)
    mask = y.numpy() / x.numpy()
    np.testing.assert_allclose(grad, mask)


def test_dropout_gradcheck_with_a_fixed_mask():
    x = RNG.normal(size=(5, 6))
    # A fresh layer with the same seed draws the same mask on every evaluation.
    mg.gradcheck(lambda t: layers.Dropout(0.5, seed=5, dtype="float64")(t, training=True),
                 [x])


def test_dropout_seed_and_global_seed_reproducible():
    x = np.ones((4, 50))
    a = layers.Dropout(0.5, seed=7)
    b = layers.Dropout(0.5, seed=7)
    first = a(x, training=True).numpy()
    np.testing.assert_array_equal(first, b(x, training=True).numpy())
    assert not np.array_equal(first, a(x, training=True).numpy())     # new mask each call
    masks = []
    for _ in range(2):
        mg.random.set_random_seed(11)
        masks.append(layers.Dropout(0.5)(x, training=True).numpy())
    np.testing.assert_array_equal(*masks)


def test_dropout_noise_shape():
    x = np.ones((4, 6, 5))
    y = layers.Dropout(0.5, noise_shape=(None, 1, None), seed=1)(x, training=True).numpy()
    assert (y == y[:, :1, :]).all()                 # same mask along axis 1
    assert (y == 0).any() and (y == 2).any()
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(4, 3, 5))(x, training=True)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(None, 1))(x, training=True)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(0, 1, 1))


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "0.5", None, True])
def test_dropout_rate_errors(rate):
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(rate)


def test_dropout_seed_error_and_config():
    with pytest.raises(ValueError, match="seed"):
        layers.Dropout(0.5, seed=-1)
    config = layers.Dropout(0.25, noise_shape=(None, 1), seed=4).get_config()
    assert (config["rate"], config["noise_shape"], config["seed"]) == (0.25, (None, 1), 4)


# ----------------------------------------------------------------------------------------
# ActivityRegularization
# ----------------------------------------------------------------------------------------

def test_activity_regularization():
    x = RNG.normal(size=(4, 3))
    layer = layers.ActivityRegularization(l1=0.1, l2=0.2, dtype="float64")
    y = layer(x)
    np.testing.assert_array_equal(y.numpy(), x)
    (loss,) = layer.losses
    expected = (0.1 * np.abs(x).sum() + 0.2 * (x ** 2).sum()) / 4       # / batch size
    np.testing.assert_allclose(float(loss.data), expected)
    layer(x)
    assert len(layer.losses) == 1                                   # not accumulated
    config = layer.get_config()
    assert config["l1"] == 0.1 and config["l2"] == 0.2 and "activity_regularizer" not in config
    assert layers.ActivityRegularization.from_config(config).l2 == 0.2
    mg.gradcheck(lambda t: (layer(t), layer.losses[0])[1], [x])


@pytest.mark.parametrize("kwargs,match", [({"l1": -1.0}, "l1"), ({"l2": "x"}, "l2"),
                                          ({"l1": float("nan")}, "l1"),
                                          ({"activity_regularizer": "l2"},
                                           "activity_regularizer")])
def test_activity_regularization_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.ActivityRegularization(**kwargs)


# ----------------------------------------------------------------------------------------
# InputLayer / Input
# ----------------------------------------------------------------------------------------

def test_input_returns_the_symbolic_output_of_an_input_layer():
    symbolic = layers.Input((8, 8, 1))
    assert symbolic.shape == (None, 8, 8, 1) and symbolic.dtype == np.float32
    inp = symbolic.layer
    assert isinstance(inp, layers.InputLayer) and inp.output is symbolic
    assert inp.batch_input_shape == (None, 8, 8, 1) == inp.input_shape_hint
    assert inp.shape == (8, 8, 1) and inp.batch_size is None
    assert inp.built and inp.count_params() == 0 and inp.weights == []
    x = np.zeros((3, 8, 8, 1), "float32")
    assert inp(x).shape == (3, 8, 8, 1)
    assert inp.compute_output_shape() == (None, 8, 8, 1)
    identity = layers.InputLayer((2, 3), dtype="float64")
    mg.gradcheck(lambda t: identity(t) * 1.0, [RNG.normal(size=(2, 2, 3))])


def test_input_with_batch_size_name_and_batch_shape():
    inp = layers.Input(shape=(4,), batch_size=2, name="features", dtype="float64").layer
    assert inp.batch_input_shape == (2, 4) and inp.name == "features"
    assert inp.dtype == np.float64
    with pytest.raises(ValueError, match="batch"):
        inp(np.zeros((3, 4)))
    assert layers.InputLayer(batch_shape=(None, 5, 2)).batch_input_shape == (None, 5, 2)
    assert layers.InputLayer(input_shape=(5,)).batch_input_shape == (None, 5)
    assert layers.Input(7).shape == (None, 7)
    config = inp.get_config()
    assert config["batch_shape"] == (2, 4)
    assert layers.InputLayer.from_config(config).batch_input_shape == (2, 4)


def test_input_layer_checks_shape():
    inp = layers.InputLayer((None, 3))
    assert inp(np.zeros((2, 9, 3))).shape == (2, 9, 3)
    with pytest.raises(ValueError, match="expected ndim=3"):
        inp(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected axis 2 of input shape to have value 3"):
        inp(np.zeros((2, 9, 4)))


@pytest.mark.parametrize("kwargs,exc,match", [
    ({}, ValueError, "shape"),
    ({"shape": (3,), "batch_shape": (None, 3)}, ValueError, "only one"),
    ({"shape": (0, 3)}, ValueError, "shape"),
    ({"shape": (2.5,)}, ValueError, "shape"),
    ({"shape": object()}, TypeError, "shape"),
    ({"shape": (3,), "batch_size": 0}, ValueError, "batch_size"),
    ({"batch_shape": ()}, ValueError, "batch_shape"),
    ({"shape": (3,), "dtype": "int8"}, ValueError, "dtype"),
])
def test_input_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        layers.InputLayer(**kwargs)
