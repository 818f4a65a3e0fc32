"""LayerNormalization: per-sample statistics, axes, weights, gradients, config, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import layers

RNG = np.random.default_rng(3)


def reference(x, axes, gamma, beta, epsilon):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    shape = [n if i in axes else 1 for i, n in enumerate(x.shape)]
    return (x - mean) / np.sqrt(var + epsilon) * gamma.reshape(shape) + beta.reshape(shape)


@settings(max_examples=12)
@given(axis=st.sampled_from([-1, 1, 2, [1, 2], [2, 3], (1, 3)]),
       center=st.booleans(), scale=st.booleans())
def test_values_and_gradcheck(axis, center, scale):
    x = RNG.normal(size=(2, 3, 4, 5)) * RNG.uniform(0.5, 3) + 1.5
    layer = layers.LayerNormalization(axis=axis, center=center, scale=scale, dtype="float64",
                                      beta_initializer="random_normal",
                                      gamma_initializer="random_uniform")
    y = layer(x)
    axes = tuple(sorted({a % 4 for a in (axis if isinstance(axis, (list, tuple)) else [axis])}))
    shape = tuple(x.shape[a] for a in axes)
    gamma = layer.gamma.numpy() if scale else np.ones(shape)
    beta = layer.beta.numpy() if center else np.zeros(shape)
    assert [w.shape for w in layer.weights] == [shape] * (scale + center)
    np.testing.assert_allclose(y.numpy(), reference(x, axes, gamma, beta, 1e-3), rtol=1e-10,
                               atol=1e-12)
    mg.gradcheck(lambda t, *ws: layer(t), [x] + layer.weights)


def test_same_in_training_and_inference_and_each_sample_alone():
    x = RNG.normal(size=(3, 6)) * 4
    layer = layers.LayerNormalization(dtype="float64")
    full = layer(x, training=True).numpy()
    np.testing.assert_allclose(layer(x, training=False).numpy(), full)
    np.testing.assert_allclose(layer(x[1:2]).numpy(), full[1:2])
    np.testing.assert_allclose(full.mean(-1), 0, atol=1e-12)
    assert layer.count_params() == 12 and layer.get_weights()[0].tolist() == [1.0] * 6


def test_config_round_trip_and_regularizer():
    layer = layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, gamma_regularizer="l2")
    layer(np.ones((2, 3, 4)))
    config = layer.get_config()
    assert config["axis"] == [1, 2] and config["epsilon"] == 1e-5 and not config["rms_scaling"]
    assert config["gamma_regularizer"]["class_name"] == "L2"
    assert len(layer.losses) == 1
    clone = layers.LayerNormalization.from_config(config)
    assert clone.get_config() == config


def test_errors():
    with pytest.raises(TypeError, match="`axis`.*axis='x'"):
        layers.LayerNormalization(axis="x")
    with pytest.raises(ValueError, match="epsilon=0"):
        layers.LayerNormalization(epsilon=0)
    with pytest.raises(ValueError, match="center=1"):
        layers.LayerNormalization(center=1)
    with pytest.raises(ValueError, match="rms_scaling"):
        layers.LayerNormalization(rms_scaling=True)
    with pytest.raises(ValueError, match="axis 0 is out of bounds"):
        layers.LayerNormalization(axis=0)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        layers.LayerNormalization(axis=2)(np.ones((2, 3)))
