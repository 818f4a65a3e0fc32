"""SpatialDropout1D/2D: whole channels dropped, scale, inference identity, gradient, config."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers


@pytest.mark.parametrize("layer, shape, spatial", [
    (lambda: layers.SpatialDropout1D(0.5, seed=1, dtype="float64"), (8, 5, 6), (1,)),
    (lambda: layers.SpatialDropout2D(0.5, seed=1, dtype="float64"), (8, 3, 4, 6), (1, 2)),
    (lambda: layers.SpatialDropout2D(0.5, "channels_first", seed=1, dtype="float64"),
     (8, 6, 3, 4), (2, 3)),
])
def test_whole_channels_are_dropped_and_kept_ones_scaled(layer, shape, spatial):
    layer = layer()
    x = np.random.default_rng(0).uniform(1, 2, size=shape)
    y = layer(x, training=True).numpy()
    ratio = y / x
    # one decision per (sample, channel): constant over the spatial axes
    assert (ratio.min(axis=spatial) == ratio.max(axis=spatial)).all()
    assert set(np.unique(np.round(ratio, 12))) <= {0.0, 2.0}
    assert 0 < (ratio == 0).mean() < 1
    np.testing.assert_array_equal(layer(x).numpy(), x)              # inference: identity
    t = mg.Tensor(x)
    with mg.GradientTape() as tape:
        tape.watch(t)
        out = layer(t, training=True)
        loss = out.sum()
    np.testing.assert_allclose(tape.gradient(loss, t), out.numpy() / x)   # same mask


def test_seed_repeats_and_config():
    x = np.ones((4, 3, 5))
    a = layers.SpatialDropout1D(0.3, seed=7)(x, training=True).numpy()
    b = layers.SpatialDropout1D(0.3, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    config = layers.SpatialDropout2D(0.2, "channels_first", seed=3).get_config()
    assert (config["rate"], config["seed"], config["data_format"]) == (0.2, 3, "channels_first")
    assert "noise_shape" not in config
    clone = layers.SpatialDropout2D.from_config(config)
    assert clone.get_config() == config


def test_errors():
    with pytest.raises(ValueError, match="rate=1.5"):
        layers.SpatialDropout1D(1.5)
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.SpatialDropout1D(0.1)(np.ones((2, 3, 4, 5)), training=True)
    with pytest.raises(ValueError, match="data_format"):
        layers.SpatialDropout2D(0.1, data_format="NCHW")
