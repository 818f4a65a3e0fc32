"""ZeroPadding, Cropping and UpSampling (1D, 2D): against NumPy, gradients, data_format,
configs and argument errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import layers

RNG = np.random.default_rng(1)
pairs = st.tuples(st.integers(0, 2), st.integers(0, 2))


@settings(max_examples=15)
@given(pad=pairs, fmt=st.sampled_from(["channels_last", "channels_first"]))
def test_zero_padding_1d(pad, fmt):
    x = RNG.normal(size=(2, 4, 3))
    layer = layers.ZeroPadding1D(pad, data_format=fmt, dtype="float64")
    widths = [(0, 0), pad, (0, 0)] if fmt == "channels_last" else [(0, 0), (0, 0), pad]
    np.testing.assert_array_equal(layer(x).numpy(), np.pad(x, widths))
    assert layer.compute_output_shape(x.shape) == np.pad(x, widths).shape
    mg.gradcheck(layer, [x])


@settings(max_examples=15)
@given(h=pairs, w=pairs, fmt=st.sampled_from(["channels_last", "channels_first"]))
def test_zero_padding_and_cropping_2d(h, w, fmt):
    x = RNG.normal(size=(2, 5, 6, 3) if fmt == "channels_last" else (2, 3, 5, 6))
    widths = ([(0, 0), h, w, (0, 0)] if fmt == "channels_last" else [(0, 0), (0, 0), h, w])
    padded = layers.ZeroPadding2D((h, w), data_format=fmt, dtype="float64")(x)
    np.testing.assert_array_equal(padded.numpy(), np.pad(x, widths))
    crop = layers.Cropping2D((h, w), data_format=fmt, dtype="float64")
    np.testing.assert_array_equal(crop(padded).numpy(), x)       # cropping undoes padding
    assert crop.compute_output_shape(padded.shape) == x.shape
    mg.gradcheck(crop, [x])


def test_zero_padding_2d_argument_forms():
    x = np.ones((1, 2, 2, 1))
    assert layers.ZeroPadding2D(1)(x).shape == (1, 4, 4, 1)
    assert layers.ZeroPadding2D((1, 2))(x).shape == (1, 4, 6, 1)
    assert layers.ZeroPadding2D(((0, 1), (2, 0)))(x).shape == (1, 3, 4, 1)
    assert layers.ZeroPadding2D(((0, 1), (2, 0))).get_config()["padding"] == ((0, 1), (2, 0))
    assert layers.ZeroPadding1D(2).get_config()["padding"] == (2, 2)


@settings(max_examples=15)
@given(crop=pairs)
def test_cropping_1d(crop):
    x = RNG.normal(size=(2, 6, 3))
    layer = layers.Cropping1D(crop, dtype="float64")
    np.testing.assert_array_equal(layer(x).numpy(), x[:, crop[0]:6 - crop[1]])
    mg.gradcheck(layer, [x])


@settings(max_examples=15)
@given(size=st.integers(1, 3))
def test_upsampling_1d_repeats_steps(size):
    x = RNG.normal(size=(2, 4, 3))
    layer = layers.UpSampling1D(size, dtype="float64")
    np.testing.assert_array_equal(layer(x).numpy(), np.repeat(x, size, axis=1))
    mg.gradcheck(layer, [x])


@settings(max_examples=15)
@given(size=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       fmt=st.sampled_from(["channels_last", "channels_first"]))
def test_upsampling_2d_nearest(size, fmt):
    x = RNG.normal(size=(2, 3, 4, 2))
    axes = (1, 2) if fmt == "channels_last" else (2, 3)
    layer = layers.UpSampling2D(size, data_format=fmt, dtype="float64")
    expected = np.repeat(np.repeat(x, size[0], axis=axes[0]), size[1], axis=axes[1])
    np.testing.assert_array_equal(layer(x).numpy(), expected)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + expected.shape[1:]
    mg.gradcheck(layer, [x])


def test_upsampling_gradient_sums_each_block():
    x = mg.Tensor(np.zeros((1, 2, 2, 1)))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = layers.UpSampling2D((2, 3), dtype="float64")(x)
        loss = (y * np.arange(24.0).reshape(1, 4, 6, 1)).sum()
    g = tape.gradient(loss, x)
    weights = np.arange(24.0).reshape(4, 6)
    np.testing.assert_array_equal(g[0, :, :, 0], [[weights[:2, :3].sum(), weights[:2, 3:].sum()],
                                                  [weights[2:, :3].sum(), weights[2:, 3:].sum()]])


def test_configs_round_trip():
    for layer in (layers.ZeroPadding1D((1, 2)), layers.ZeroPadding2D(((1, 2), (3, 4))),
                  layers.Cropping1D(1), layers.Cropping2D(((1, 0), (0, 2))),
                  layers.UpSampling1D(3), layers.UpSampling2D((2, 3), "channels_first")):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_argument_errors():
    with pytest.raises(ValueError, match=r"`padding`.*Received: padding=-1"):
        layers.ZeroPadding1D(-1)
    with pytest.raises(ValueError, match=r"`padding\[1\]`.*Received: padding\[1\]=\(1, 2, 3\)"):
        layers.ZeroPadding2D(((1, 1), (1, 2, 3)))
    with pytest.raises(ValueError, match="`cropping` should be"):
        layers.Cropping2D((1, 2, 3))
    with pytest.raises(TypeError, match=r"integer value for `size`.*size=2.0"):
        layers.UpSampling1D(2.0)
    with pytest.raises(ValueError, match="positive"):
        layers.UpSampling2D((0, 2))
    with pytest.raises(ValueError, match="interpolation='nearest'.*'bilinear'"):
        layers.UpSampling2D(interpolation="bilinear")
    with pytest.raises(ValueError, match="data_format"):
        layers.ZeroPadding2D(data_format="nhwc")
    with pytest.raises(ValueError, match=r"fewer steps than the input has on that axis \(3\)"):
        layers.Cropping1D((2, 1))(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="expected ndim=4"):
        layers.UpSampling2D()(np.zeros((1, 3, 2)))
