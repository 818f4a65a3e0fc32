"""Merge layers: known values, Keras broadcasting, gradients, configs and shape errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import layers

RNG = np.random.default_rng(0)
MERGES = {"Add": np.add, "Subtract": np.subtract, "Multiply": np.multiply,
          "Maximum": np.maximum, "Minimum": np.minimum}


def values(*shape):
    return RNG.normal(size=shape)


@pytest.mark.parametrize("name", ["Add", "Multiply", "Maximum", "Minimum", "Average"])
def test_elementwise_merges_of_three(name):
    a, b, c = values(2, 3, 4), values(2, 3, 4), values(2, 3, 4)
    layer = getattr(layers, name)(dtype="float64")
    y = layer([a, b, c])
    if name == "Average":
        expected = (a + b + c) / 3
    else:
        expected = MERGES[name](MERGES[name](a, b), c)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)
    assert layer.compute_output_shape([a.shape] * 3) == (2, 3, 4)
    assert layer.weights == [] and layer.count_params() == 0


def test_subtract_takes_exactly_two():
    a, b = values(2, 3), values(2, 3)
    np.testing.assert_allclose(layers.Subtract(dtype="float64")([a, b]).numpy(), a - b)
    with pytest.raises(ValueError, match="exactly 2 inputs. Received: 3 inputs"):
        layers.Subtract()([a, b, a])


@settings(max_examples=25)
@given(st.data())
def test_broadcasting_follows_keras_rule(data):
    """Sizes of 1 stretch; a lower-rank input gets new axes right after the batch axis."""
    rank = data.draw(st.integers(1, 3))
    full = tuple(data.draw(st.integers(2, 3)) for _ in range(rank))
    ones = tuple(data.draw(st.sampled_from([1, n])) for n in full)
    drop = data.draw(st.integers(0, rank - 1))                 # leading sample axes to drop
    a, b = values(2, *full), values(2, *ones[drop:])
    y = layers.Add(dtype="float64")([a, b])
    b_expanded = b.reshape((2,) + (1,) * drop + b.shape[1:])
    np.testing.assert_allclose(y.numpy(), a + b_expanded)
    assert layers.Add().compute_output_shape([a.shape, b.shape]) == a.shape


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                  "Minimum"])
def test_merges_gradcheck_with_broadcasting(name):
    a = RNG.uniform(-2, 2, size=(2, 3, 4))
    b = RNG.uniform(-2, 2, size=(2, 1, 4))           # distinct values: no ties for max/min
    layer = getattr(layers, name)(dtype="float64")
    mg.gradcheck(lambda x, z: layer([x, z]), [a, b])


def test_concatenate_values_gradients_and_axis():
    a, b = values(2, 3, 4), values(2, 3, 1)
    layer = layers.Concatenate(dtype="float64")
    np.testing.assert_allclose(layer([a, b]).numpy(), np.concatenate([a, b], -1))
    assert layer.compute_output_shape([(None, 3, 4), (None, 3, 1)]) == (None, 3, 5)
    mg.gradcheck(lambda x, z: layer([x, z]), [a, b])
    rows = layers.Concatenate(axis=1, dtype="float64")([a, values(2, 5, 4)])
    assert rows.shape == (2, 8, 4)
    assert layers.Concatenate(axis=1).get_config()["axis"] == 1


def test_merge_errors_show_both_shapes():
    with pytest.raises(ValueError, match=r"incompatible shapes. Received shapes \(3, 4\) and "
                                         r"\(3, 5\)"):
        layers.Add()([np.zeros((2, 3, 4)), np.zeros((2, 3, 5))])
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) and \(2, 5, 4\)"):
        layers.Concatenate()([np.zeros((2, 3, 4)), np.zeros((2, 5, 4))])
    with pytest.raises(ValueError, match="different batch sizes"):
        layers.Multiply()([np.zeros((2, 3)), np.zeros((4, 3))])
    with pytest.raises(ValueError, match="should be called on a list of inputs"):
        layers.Add()(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="same rank"):
        layers.Concatenate()([np.zeros((2, 3)), np.zeros((2, 3, 1))])
    with pytest.raises(TypeError, match="axis"):
        layers.Concatenate(axis="last")


def test_merge_layer_is_not_built_by_a_failed_call():
    layer = layers.Add()
    with pytest.raises(ValueError):
        layer([np.zeros((2, 3)), np.zeros((2, 4))])
    assert not layer.built
    assert layer([np.ones((2, 3)), np.ones((2, 3))]).shape == (2, 3)


def test_merge_on_the_tape_names_the_layer():
    a = mg.Tensor(values(2, 3))
    layer = layers.Add(name="skip")
    with mg.GradientTape() as tape:
        tape.watch(a)
        y = layer([a, a]).sum()
    assert [e.layer for e in tape if e.op == "add"] == ["skip"]
    np.testing.assert_allclose(tape.gradient(y, a), 2 * np.ones((2, 3)))


def test_configs_round_trip():
    for cls in (layers.Add, layers.Subtract, layers.Multiply, layers.Average,
                layers.Maximum, layers.Minimum, layers.Concatenate):
        layer = cls(name=f"m_{cls.__name__}")
        clone = cls.from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
