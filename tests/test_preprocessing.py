"""Rescaling: values, integer inputs, per-channel arrays, gradients, config."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers


def test_rescaling_to_minus_one_one():
    x = np.array([[0, 127.5, 255]])
    y = layers.Rescaling(1 / 127.5, offset=-1, dtype="float64")(x)
    np.testing.assert_allclose(y.numpy(), [[-1, 0, 1]])


def test_integer_input_is_cast_and_per_channel_scale_broadcasts():
    x = np.arange(24, dtype=np.uint8).reshape(1, 2, 4, 3)
    layer = layers.Rescaling([1.0, 0.5, 0.25], offset=[0.0, 1.0, 2.0])
    y = layer(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), x * np.array([1, 0.5, 0.25]) + [0, 1, 2])
    config = layer.get_config()
    assert config["scale"] == [1.0, 0.5, 0.25]
    clone = layers.Rescaling.from_config(config)
    np.testing.assert_allclose(clone(x).numpy(), y.numpy())


def test_channels_first_scale_reaches_the_channel_axis():
    mg.config.set_image_data_format("channels_first")
    try:
        x = np.ones((1, 3, 2, 2))
        y = layers.Rescaling(np.array([1.0, 2.0, 3.0]), dtype="float64")(x)
        np.testing.assert_allclose(y.numpy()[0, :, 0, 0], [1, 2, 3])
    finally:
        mg.config.set_image_data_format("channels_last")


def test_gradcheck_and_errors():
    layer = layers.Rescaling(0.3, offset=0.1, dtype="float64")
    mg.gradcheck(layer, [np.random.default_rng(0).normal(size=(2, 3))])
    with pytest.raises(TypeError, match="`scale` must be a number"):
        layers.Rescaling("half")
    with pytest.raises(TypeError, match="`offset`"):
        layers.Rescaling(1.0, offset=float("nan"))
