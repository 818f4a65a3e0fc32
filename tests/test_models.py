"""Sequential: composition, building, weights, losses, summary (params equal Keras's)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers, regularizers
from minigrad.models import Sequential, multiply_adds


@pytest.fixture(autouse=True)
def _fresh_names():
    mg.clear_session()
    mg.set_random_seed(0)


def rand(*shape):
    return np.random.default_rng(1).random(shape).astype("float32")


def tiny():
    return Sequential([layers.SeparableConv2D(8, 3, activation="relu", input_shape=(8, 8, 1)),
                       layers.GlobalAveragePooling2D(), layers.Dense(10)], name="tiny")


# -- structure -------------------------------------------------------------------------
def test_input_shape_builds_at_once():
    model = tiny()
    assert model.built and model.input_shape == (None, 8, 8, 1)
    assert model.output_shape == (None, 10)
    assert all(layer.built for layer in model.layers)
    assert model.count_params() == 115


def test_input_layer_builds_and_is_not_listed():
    model = Sequential([mg.Input((8, 8, 1)), layers.Flatten(), layers.Dense(3)])
    assert model.built and len(model.layers) == 2
    assert model.output_shape == (None, 3)
    model2 = Sequential()
    model2.add(layers.InputLayer(shape=(4,)))
    model2.add(layers.Dense(2))
    assert model2.built and [w.shape for w in model2.weights] == [(4, 2), (2,)]


def test_builds_on_first_call_and_on_build():
    model = Sequential([layers.Dense(4), layers.Dense(2)])
    assert not model.built
    y = model(rand(5, 3))
    assert y.shape == (5, 2) and model.built and model.input_shape == (None, 3)
    other = Sequential([layers.Dense(4)])
    other.build((None, 7))
    assert other.layers[0].kernel.shape == (7, 4)


def test_add_validates():
    model = Sequential()
    with pytest.raises(TypeError, match="instance of minigrad.layers.Layer"):
        model.add("dense")
    model.add(layers.Dense(2, name="d"))
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(3, name="d"))
    with pytest.raises(ValueError, match="InputLayer can only be the first"):
        model.add(mg.Input((3,)))


def test_add_after_build_builds_the_new_layer():
    model = Sequential([layers.Dense(4, input_shape=(3,))])
    model.add(layers.Dense(2))
    assert model.layers[1].built and model.layers[1].kernel.shape == (4, 2)


def test_pop_and_get_layer():
    model = tiny()
    assert model.get_layer(index=0) is model.layers[0]
    assert model.get_layer("dense") is model.layers[-1]
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="out of range"):
        model.get_layer(index=7)
    popped = model.pop()
    assert popped.name == "dense" and len(model.layers) == 2
    assert model.output_shape == (None, 8)
    Sequential([]).layers == []
    with pytest.raises(TypeError, match="no layers to pop"):
        Sequential().pop()


def test_call_passes_training_to_dropout():
    model = Sequential([layers.Dropout(0.5, input_shape=(1000,))])
    x = np.ones((2, 1000), "float32")
    np.testing.assert_array_equal(model(x).numpy(), x)
    np.testing.assert_array_equal(model(x, training=False).numpy(), x)
    y = model(x, training=True).numpy()
    assert (y == 0).mean() > 0.3 and np.allclose(y[y != 0], 2.0)


def test_wrong_input_shape_raises_clearly():
    model = tiny()
    with pytest.raises(ValueError, match=r"expects input of shape \(None, 8, 8, 1\)"):
        model(rand(2, 8, 8, 3))
    with pytest.raises(ValueError, match="shape"):
        model(rand(2, 8, 8))


def test_weights_and_atomic_set_weights():
    model = tiny()
    names = [w.path for w in model.weights]
    assert names == ["separable_conv2d/depthwise_kernel", "separable_conv2d/pointwise_kernel",
                     "separable_conv2d/bias", "dense/kernel", "dense/bias"]
    values = model.get_weights()
    new = [v + 1 for v in values]
    model.set_weights(new)
    for w, v in zip(model.get_weights(), new):
        np.testing.assert_array_equal(w, v)
    bad = [v - 5 for v in values]
    bad[-1] = np.zeros(3)
    with pytest.raises(ValueError):
        model.set_weights(bad)
    for w, v in zip(model.get_weights(), new):           # nothing changed
        np.testing.assert_array_equal(w, v)
    with pytest.raises(ValueError, match="length 2"):
        model.set_weights(values[:2])


def test_trainable_flags_and_losses():
    model = Sequential([
        layers.Dense(4, kernel_regularizer=regularizers.L2(0.1), activity_regularizer="l1",
                     input_shape=(3,)),
        layers.Dense(2, kernel_regularizer=regularizers.L1(0.1), bias_regularizer="l2"),
    ])
    model(rand(5, 3))
    assert len(model.losses) == 4          # activity, then 3 weight penalties
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    assert len(model.losses) == 3          # frozen kernel: no penalty, activity stays
    model.trainable = False
    assert model.trainable_weights == [] and len(model.losses) == 1


def test_nested_sequential():
    inner = Sequential([layers.Dense(4, activity_regularizer="l2")], name="inner")
    outer = Sequential([layers.Dense(3, input_shape=(2,)), inner, layers.Dense(1)])
    y = outer(rand(6, 2))
    assert y.shape == (6, 1)
    assert len(outer.weights) == 6 and outer.count_params() == 9 + 16 + 5
    assert len(outer.losses) == 1


# -- summary ---------------------------------------------------------------------------
def summary_text(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def totals(text):
    found = {}
    for line in text.splitlines():
        for key in ("Total params", "Trainable params", "Non-trainable params"):
            if line.startswith(key + ":"):
                found[key] = int(line.split(":")[1].replace(",", ""))
    return found["Total params"], found["Trainable params"], found["Non-trainable params"]


def test_summary_tiny_matches_keras():
    text = summary_text(tiny())
    # Keras: depthwise 3*3*1*1 + pointwise 1*8 + bias 8 = 25; Dense 8*10+10 = 90.
    assert totals(text) == (115, 115, 0)
    assert "separable_conv2d (SeparableConv2D)" in text and "(None, 6, 6, 8)" in text
    assert "global_average_pooling2d" in text and "(None, 10)" in text
    # Multiply-adds: 36 positions * (9 depthwise + 8 pointwise); Dense 8*10.
    assert "Mult-adds per sample: 692" in text
    assert "324 depthwise + 288 pointwise = 612 mult-adds; a full convolution: 2,592 (4.2x)" in text


def test_summary_depthwise_conv_batchnorm_matches_keras():
    model = Sequential([
        layers.DepthwiseConv2D(3, depth_multiplier=2, input_shape=(10, 10, 3)),   # 54 + 6
        layers.Conv2D(4, 1),                                                        # 24 + 4
        layers.BatchNormalization(),                      # gamma, beta + moving mean/var
        layers.Flatten(),
        layers.Dense(5),                                                           # 256*5+5
    ])
    total = 60 + 28 + 16 + 1285
    assert totals(summary_text(model)) == (total, total - 8, 8)
    model.layers[0].trainable = False
    assert totals(summary_text(model)) == (total, total - 8 - 60, 68)


def test_summary_separable1d_no_bias_matches_keras():
    model = Sequential([
        layers.SeparableConv1D(16, 5, depth_multiplier=2, use_bias=False,
                               input_shape=(20, 4)),        # 5*4*2 + 8*16 = 168
        layers.Dense(3),                                    # on (16, 16): 16*3 + 3
    ])
    text = summary_text(model)
    assert totals(text) == (219, 219, 0)
    assert "(None, 16, 16)" in text and "(None, 16, 3)" in text
    # 16 positions * 40 depthwise + 16 * 128 pointwise; Dense: 16 positions * 48.
    assert multiply_adds(model.layers[0], (None, 16, 16)) == 16 * 40 + 16 * 128
    assert multiply_adds(model.layers[1], (None, 16, 3)) == 16 * 48


def test_summary_unbuilt_raises():
    with pytest.raises(ValueError, match="not yet been built"):
        Sequential([layers.Dense(2)]).summary()


def test_batch_input_shape_builds_and_fixes_the_batch():
    model = Sequential([layers.Dense(2, batch_input_shape=(4, 3))])
    assert model.built and model.input_shape == (4, 3)
    assert model(rand(4, 3)).shape == (4, 2)
    with pytest.raises(ValueError, match="batch"):
        model(rand(5, 3))


def test_call_passes_training_to_batch_normalization():
    model = Sequential([layers.BatchNormalization(momentum=0.5, input_shape=(3,))])
    bn = model.layers[0]
    x = rand(16, 3) * 4 + 2
    mean_before = bn.moving_mean.numpy().copy()
    model(x, training=False)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mean_before)
    y = model(x, training=True).numpy()
    assert not np.allclose(bn.moving_mean.numpy(), mean_before)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)    # batch statistics used


def test_a_layer_that_does_not_fit_is_not_added():
    model = Sequential([layers.Dense(4, input_shape=(3,))])
    with pytest.raises(ValueError):
        model.add(layers.SeparableConv2D(2, 3))            # needs rank 4, gets (None, 4)
    assert len(model.layers) == 1 and model.output_shape == (None, 4)
    model.add(layers.Dense(2))
    assert model(rand(2, 3)).shape == (2, 2)


def test_config_round_trip_rebuilds_the_same_architecture():
    model = Sequential([mg.Input((8, 8, 1)),
                        layers.SeparableConv2D(4, 3, padding="same", activation="relu",
                                               depthwise_regularizer="l2"),
                        layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.1),
                        layers.Dense(3)], name="original")
    config = model.get_config()
    assert [item["class_name"] for item in config["layers"]] == [
        "InputLayer", "SeparableConv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"]
    clone = Sequential.from_config(config)
    assert clone.built and clone.name == "original"
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert len(clone.losses) == 1
    clone.set_weights(model.get_weights())
    x = rand(2, 8, 8, 1)
    np.testing.assert_array_equal(clone(x).numpy(), model(x).numpy())
    with pytest.raises(ValueError, match="unknown layer class"):
        Sequential.from_config({"name": "m", "layers": [{"class_name": "Nope", "config": {}}]})
