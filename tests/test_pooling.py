"""Pooling layers: shapes, known answers vs a naive loop reference, gradients, errors.

The reference below loops over every window in plain Python: max over the real inputs
of the window, or their mean (padded positions never count, as in TensorFlow).
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import layers
from minigrad.layers.pooling import pool

RNG = np.random.default_rng(0)


def ref_pool(x, pool_size, strides, padding, mode):
    """Naive channels_last pooling, one window at a time."""
    spatial = x.shape[1:-1]
    starts, outs = [], []
    for n, k, s in zip(spatial, pool_size, strides):
        if padding == "valid":
            out = (n - k) // s + 1
            before = 0
        else:
            out = -(-n // s)
            before = max((out - 1) * s + k - n, 0) // 2
        outs.append(out)
        starts.append([o * s - before for o in range(out)])
    y = np.zeros((x.shape[0],) + tuple(outs) + (x.shape[-1],))
    for pos in itertools.product(*(range(o) for o in outs)):
        index = [slice(None)]
        for axis, o in enumerate(pos):
            lo = starts[axis][o]
            index.append(slice(max(lo, 0), min(lo + pool_size[axis], spatial[axis])))
        window = x[tuple(index)].reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None),) + pos] = window.max(axis=1) if mode == "max" else window.mean(axis=1)
    return y


LAYERS = {(1, "max"): layers.MaxPooling1D, (1, "average"): layers.AveragePooling1D,
          (2, "max"): layers.MaxPooling2D, (2, "average"): layers.AveragePooling2D}


@settings(max_examples=40, deadline=None)
@given(rank=st.sampled_from([1, 2]), mode=st.sampled_from(["max", "average"]),
       padding=st.sampled_from(["valid", "same"]),
       channels_first=st.booleans(), data=st.data())
def test_matches_reference(rank, mode, padding, channels_first, data):
    pool_size = tuple(data.draw(st.integers(1, 3)) for _ in range(rank))
    strides = tuple(data.draw(st.integers(1, 3)) for _ in range(rank))
    spatial = tuple(data.draw(st.integers(k, 7)) for k in pool_size)
    x = RNG.normal(size=(2,) + spatial + (3,))
    layer = LAYERS[rank, mode](pool_size, strides, padding,
                               "channels_first" if channels_first else "channels_last",
                               dtype="float64")
    inp = np.moveaxis(x, -1, 1) if channels_first else x
    y = layer(inp).numpy()
    expected = ref_pool(x, pool_size, strides, padding, mode)
    if channels_first:
        expected = np.moveaxis(expected, -1, 1)
    assert y.shape == expected.shape == layer.compute_output_shape(inp.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rank,mode,padding,pool_size,strides,data_format", [
    (1, "max", "same", 3, 2, "channels_last"),
    (1, "average", "same", 4, 3, "channels_last"),
    (1, "average", "valid", 2, 1, "channels_first"),
    (2, "max", "valid", (2, 3), (1, 2), "channels_last"),
    (2, "max", "same", 3, 2, "channels_first"),
    (2, "average", "same", 3, 2, "channels_last"),
    (2, "average", "valid", 2, None, "channels_first"),
])
def test_gradcheck(rank, mode, padding, pool_size, strides, data_format):
    shape = (2, 5, 3) if rank == 1 else (2, 5, 4, 3)
    # Distinct values far apart, so the max is never a near tie under the perturbation.
    x = RNG.permutation(np.prod(shape)).reshape(shape) * 0.1 + RNG.uniform(0, 0.01, shape)
    layer = LAYERS[rank, mode](pool_size, strides, padding, data_format, dtype="float64")
    mg.gradcheck(lambda t: layer(t), [x])


def test_max_gradient_goes_to_first_argmax():
    x = mg.Tensor(np.array([[[1.0], [3.0], [3.0], [0.0]]]))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = pool(x, (2,), (1,), "valid", "max")
    np.testing.assert_array_equal(y.numpy().ravel(), [3, 3, 3])
    grad = tape.gradient(y, x)
    np.testing.assert_array_equal(grad.numpy().ravel(), [0, 2, 1, 0])


def test_average_gradient_ignores_padding():
    x = mg.Tensor(np.arange(3.0).reshape(1, 3, 1))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = pool(x, (2,), (2,), "same", "average")      # windows [0, 1] and [2]
    np.testing.assert_allclose(y.numpy().ravel(), [0.5, 2.0])
    np.testing.assert_allclose(tape.gradient(y, x).numpy().ravel(), [0.5, 0.5, 1.0])


def test_known_values_2d():
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(layers.MaxPooling2D()(x).numpy()[0, ..., 0],
                                  [[5, 7], [13, 15]])
    np.testing.assert_array_equal(layers.AveragePooling2D()(x).numpy()[0, ..., 0],
                                  [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.parametrize("cls,shape,kwargs,expected", [
    (layers.MaxPooling1D, (4, 10, 3), {}, (4, 5, 3)),
    (layers.MaxPooling1D, (4, 10, 3), {"pool_size": 3, "padding": "same"}, (4, 4, 3)),
    (layers.AveragePooling1D, (4, 10, 3), {"pool_size": 3, "strides": 1}, (4, 8, 3)),
    (layers.AveragePooling1D, (4, 3, 10), {"data_format": "channels_first"}, (4, 3, 5)),
    (layers.MaxPooling2D, (2, 8, 8, 4), {}, (2, 4, 4, 4)),
    (layers.MaxPooling2D, (2, 7, 5, 4), {"padding": "same"}, (2, 4, 3, 4)),
    (layers.AveragePooling2D, (2, 7, 5, 4), {"pool_size": (3, 2), "strides": (2, 1)},
     (2, 3, 4, 4)),
    (layers.AveragePooling2D, (2, 4, 7, 5), {"padding": "same",
                                             "data_format": "channels_first"}, (2, 4, 4, 3)),
])
def test_output_shapes(cls, shape, kwargs, expected):
    layer = cls(**kwargs)
    assert layer(np.zeros(shape, "float32")).shape == expected
    assert layer.compute_output_shape(shape) == expected
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + expected[1:]
    assert layer.count_params() == 0


def test_strides_default_to_pool_size_and_config():
    layer = layers.MaxPooling2D(pool_size=3, padding="SAME")
    config = layer.get_config()
    assert config["pool_size"] == (3, 3) and config["strides"] == (3, 3)
    assert config["padding"] == "same" and config["data_format"] == "channels_last"
    clone = layers.MaxPooling2D.from_config(config)
    assert clone.pool_size == (3, 3) and clone.name == layer.name


def test_data_format_follows_config():
    mg.config.set_image_data_format("channels_first")
    try:
        assert layers.MaxPooling1D().data_format == "channels_first"
        assert layers.GlobalAveragePooling2D().data_format == "channels_first"
    finally:
        mg.config.set_image_data_format("channels_last")


# ----------------------------------------------------------------------------------------
# Global pooling
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls,reduce,rank", [
    (layers.GlobalAveragePooling1D, np.mean, 1), (layers.GlobalAveragePooling2D, np.mean, 2),
    (layers.GlobalMaxPooling1D, np.max, 1), (layers.GlobalMaxPooling2D, np.max, 2)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(cls, reduce, rank, data_format, keepdims):
    shape = (3, 5, 4) if rank == 1 else (3, 5, 6, 4)
    x = RNG.normal(size=shape)
    axes = tuple(range(2, 2 + rank)) if data_format == "channels_first" \
        else tuple(range(1, 1 + rank))
    layer = cls(data_format=data_format, keepdims=keepdims, dtype="float64")
    y = layer(x)
    expected = reduce(x, axis=axes, keepdims=keepdims)
    np.testing.assert_allclose(y.numpy(), expected)
    assert layer.compute_output_shape(shape) == expected.shape
    assert layer.get_config()["keepdims"] is keepdims
    mg.gradcheck(lambda t: layer(t), [x])


# ----------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make,match", [
    (lambda: layers.MaxPooling2D(pool_size=0), "pool_size"),
    (lambda: layers.MaxPooling2D(pool_size=(2, 2, 2)), "pool_size"),
    (lambda: layers.MaxPooling1D(pool_size="2"), "pool_size"),
    (lambda: layers.AveragePooling1D(strides=-1), "strides"),
    (lambda: layers.AveragePooling2D(strides=(1,)), "strides"),
    (lambda: layers.MaxPooling2D(padding="causal"), "padding"),
    (lambda: layers.MaxPooling1D(padding=1), "padding"),
    (lambda: layers.MaxPooling2D(data_format="NHWC"), "data_format"),
    (lambda: layers.GlobalMaxPooling1D(data_format="nchw"), "data_format"),
    (lambda: layers.GlobalAveragePooling2D(keepdims="yes"), "keepdims"),
])
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_call_errors():
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        layers.MaxPooling2D()(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.GlobalAveragePooling1D()(np.zeros((2, 4, 4, 1)))
    with pytest.raises(ValueError, match="pool_size=.*larger than the input"):
        layers.MaxPooling2D(pool_size=5)(np.zeros((2, 4, 4, 1)))
    # The same input works with "same" padding.
    assert layers.MaxPooling2D(pool_size=5, padding="same")(np.zeros((2, 4, 4, 1))).shape \
        == (2, 1, 1, 1)


# ----------------------------------------------------------------------------------------
# Edge cases (issue 9): huge windows, NaN, empty axes
# ----------------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(rank=st.sampled_from([1, 2]), mode=st.sampled_from(["max", "average"]), data=st.data())
def test_windows_far_larger_than_the_input_cost_only_the_input(rank, mode, data):
    """A "same" window of up to 2**31 - 1 positions: only offsets that reach a real input
    are visited, so this is as fast as a small window and equals the reference."""
    big = st.one_of(st.integers(1, 4), st.integers(4, 2**31 - 1))
    pool_size = tuple(data.draw(big) for _ in range(rank))
    strides = tuple(data.draw(big) for _ in range(rank))
    spatial = tuple(data.draw(st.integers(1, 6)) for _ in range(rank))
    x = RNG.normal(size=(2,) + spatial + (2,))
    layer = LAYERS[rank, mode](pool_size, strides, "same", dtype="float64")
    np.testing.assert_allclose(layer(x).numpy(), ref_pool(x, pool_size, strides, "same", mode),
                               rtol=1e-12)


def test_huge_window_gradient():
    x = mg.Tensor(RNG.normal(size=(1, 5, 2)))
    for mode in ("max", "average"):
        assert mg.gradcheck(lambda t: pool(t, (2**31 - 1,), (3,), "same", mode), [x])


@pytest.mark.parametrize("position", [0, 1, 2])
def test_max_pooling_propagates_nan_from_any_position(position):
    x = np.array([1.0, 5.0, 0.0, 2.0, 3.0, 4.0]).reshape(1, 6, 1)
    x[0, position, 0] = np.nan
    y = layers.MaxPooling1D(3, dtype="float64")(x).numpy().ravel()
    assert np.isnan(y[0]) and y[1] == 4.0            # as np.max over each window
    x = mg.Tensor(x)
    with mg.GradientTape() as tape:
        tape.watch(x)
        out = pool(x, (3,), (3,), "valid", "max")
    grad = np.asarray(tape.gradient(out, x)).ravel()
    assert grad[position] == 1 and grad[:3].sum() == 1   # the NaN is the window's max


def test_empty_axes_raise_with_the_padding_given():
    with pytest.raises(ValueError, match="length 0.*padding='same'"):
        layers.MaxPooling1D(2, padding="same")(np.zeros((1, 0, 3)))
    for cls in (layers.GlobalAveragePooling1D, layers.GlobalMaxPooling1D):
        with pytest.raises(ValueError, match="empty axis"):
            cls()(np.zeros((1, 0, 3)))
    with pytest.raises(ValueError, match="empty axis"):
        layers.GlobalAveragePooling2D(keepdims=True)(np.zeros((1, 3, 0, 2)))
