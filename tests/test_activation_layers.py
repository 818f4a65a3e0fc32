"""ReLU, LeakyReLU, Softmax and Identity layers: formulas, gradients, configs, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import layers

RNG = np.random.default_rng(2)


def away_from_kinks(x, points):
    """Move values that lie within 1e-3 of a kink, so finite differences are smooth."""
    for p in points:
        x = np.where(np.abs(x - p) < 1e-3, x + 1e-2, x)
    return x


def relu_reference(x, max_value, negative_slope, threshold):
    y = np.where(x > threshold, x, negative_slope * (x - threshold))
    return np.minimum(y, max_value) if max_value is not None else y


@settings(max_examples=25)
@given(max_value=st.one_of(st.none(), st.floats(0.5, 6)),
       negative_slope=st.floats(0, 1), threshold=st.floats(0, 0.4))
def test_relu_formula_and_gradcheck(max_value, negative_slope, threshold):
    x = away_from_kinks(RNG.uniform(-3, 7, size=(3, 8)),
                        [threshold, max_value if max_value is not None else 0.0, 0.0])
    layer = layers.ReLU(max_value, negative_slope, threshold, dtype="float64")
    np.testing.assert_allclose(layer(x).numpy(),
                               relu_reference(x, max_value, negative_slope, threshold),
                               atol=1e-12)
    mg.gradcheck(layer, [x])


def test_relu6_is_mobilenets_activation():
    x = np.array([[-2.0, 0.5, 3.0, 6.5, 9.0]])
    np.testing.assert_array_equal(layers.ReLU(6.0, dtype="float64")(x).numpy(),
                                  [[0, 0.5, 3, 6, 6]])


def test_leaky_relu_default_slope_is_keras_3s():
    x = np.array([[-2.0, 3.0]])
    layer = layers.LeakyReLU(dtype="float64")
    np.testing.assert_allclose(layer(x).numpy(), [[-0.6, 3.0]])
    assert layer.get_config()["negative_slope"] == 0.3
    with pytest.warns(DeprecationWarning, match="negative_slope"):
        old = layers.LeakyReLU(alpha=0.1, dtype="float64")
    np.testing.assert_allclose(old(x).numpy(), [[-0.2, 3.0]])
    mg.gradcheck(layer, [away_from_kinks(RNG.normal(size=(3, 4)), [0.0])])


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)])
def test_softmax_axis_and_gradcheck(axis):
    x = RNG.normal(size=(2, 3, 4)) * 3
    layer = layers.Softmax(axis, dtype="float64")
    y = layer(x).numpy()
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=axis, keepdims=True), rtol=1e-12)
    mg.gradcheck(layer, [x])
    assert layers.Softmax.from_config(layer.get_config()).axis == layer.axis


def test_softmax_mask_gives_masked_positions_zero():
    x = RNG.normal(size=(2, 4))
    mask = np.array([[True, True, False, True], [False, True, True, True]])
    layer = layers.Softmax(dtype="float64")
    y = layer(x, mask=mask).numpy()
    assert (y[~mask] == 0).all()
    np.testing.assert_allclose(y.sum(-1), 1.0)
    mg.gradcheck(lambda t: layer(t, mask=mask), [x])
    with pytest.raises(ValueError, match="broadcastable"):
        layer(x, mask=np.ones((2, 3), bool))


def test_identity_returns_input():
    x = mg.Tensor(RNG.normal(size=(2, 3)).astype("float32"))
    assert layers.Identity()(x) is x
    assert layers.Identity().get_config()["name"].startswith("identity")


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="ReLU: `max_value`.*max_value=-1"):
        layers.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="negative_slope=None"):
        layers.ReLU(negative_slope=None)
    with pytest.raises(ValueError, match="threshold=-0.5"):
        layers.ReLU(threshold=-0.5)
    with pytest.raises(ValueError, match="LeakyReLU.*negative_slope=-0.1"):
        layers.LeakyReLU(-0.1)
    with pytest.raises(TypeError, match="Softmax: `axis`"):
        layers.Softmax(axis="last")
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        layers.Softmax(axis=3)(np.zeros((2, 3)))


def test_configs():
    config = layers.ReLU(6.0, 0.1, 0.5).get_config()
    assert (config["max_value"], config["negative_slope"], config["threshold"]) == (6, 0.1, 0.5)
    clone = layers.ReLU.from_config(config)
    assert clone.get_config() == config
