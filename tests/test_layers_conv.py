"""The convolution layers: DepthwiseConv1D/2D, SeparableConv1D/2D, Conv1D/2D.

* Known answers: the rows of Keras's own tests (keras/src/layers/convolutional/*_test.py)
  for shapes, weight counts and values, and hand-computed impulse responses.
* A float64 NumPy reference written from the formulas in the module docstring of
  minigrad/layers/depthwise_separable.py (``pads``, ``depthwise``, ``separable``, plus
  ``full_conv`` for Conv): Hypothesis draws the argument space and compares output shape,
  ``compute_output_shape`` and values.
* Float64 ``mg.gradcheck`` of every layer w.r.t. its input and every weight.
* Weights, regularizers, constraints, losses, trainable, config, Keras 2 keywords, names,
  and every error case of Keras's argument checks.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from conftest import reference_pads

import minigrad as mg
from minigrad import config, constraints, regularizers
from minigrad.layers import (
    Conv1D, Conv2D, DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
    SeparableConvolution1D, SeparableConvolution2D, clear_session,
)

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
GRAD_SETTINGS = settings(max_examples=30, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow])

DEPTHWISE = {1: DepthwiseConv1D, 2: DepthwiseConv2D}
SEPARABLE = {1: SeparableConv1D, 2: SeparableConv2D}
CONV = {1: Conv1D, 2: Conv2D}


# ----------------------------------------------------------------------------------------
# The float64 reference (formulas of minigrad/layers/depthwise_separable.py), channels_last
# ----------------------------------------------------------------------------------------


def _windows(x, ks, strides, padding, dil):
    """Yield (output index, tap index, the (N, C) input slice the tap multiplies)."""
    r = len(ks)
    xp = np.pad(x, [(0, 0)] + [reference_pads(x.shape[1 + i], ks[i], strides[i], dil[i], padding)
                               for i in range(r)] + [(0, 0)])
    out_sz = [(xp.shape[1 + i] - (dil[i] * (ks[i] - 1) + 1)) // strides[i] + 1 for i in range(r)]
    return xp, out_sz


def depthwise(x, K, b, strides, padding, dil):          # x (N,*sp,C), K (*k,C,M)
    r = K.ndim - 2
    ks = K.shape[:r]
    C, M = K.shape[r:]
    xp, out_sz = _windows(x, ks, strides, padding, dil)
    y = np.zeros((x.shape[0], *out_sz, C * M))
    for o in np.ndindex(*out_sz):
        acc = np.zeros((x.shape[0], C, M))
        for j in np.ndindex(*ks):
            pos = tuple(o[i] * strides[i] + j[i] * dil[i] for i in range(r))
            acc += xp[(slice(None),) + pos][:, :, None] * K[j][None]
        y[(slice(None),) + o] = acc.reshape(x.shape[0], C * M)   # channel = c*M + m
    return y if b is None else y + b


def separable(x, DK, PK, b, strides, padding, dil):
    z = depthwise(x, DK, None, strides, padding, dil)
    y = z @ PK.reshape(PK.shape[-2], PK.shape[-1])
    return y if b is None else y + b


def full_conv(x, K, b, strides, padding, dil):          # x (N,*sp,Cin), K (*k,Cin,F)
    r = K.ndim - 2
    ks = K.shape[:r]
    xp, out_sz = _windows(x, ks, strides, padding, dil)
    y = np.zeros((x.shape[0], *out_sz, K.shape[-1]))
    for o in np.ndindex(*out_sz):
        for j in np.ndindex(*ks):
            pos = tuple(o[i] * strides[i] + j[i] * dil[i] for i in range(r))
            y[(slice(None),) + o] += xp[(slice(None),) + pos] @ K[j]
    return y if b is None else y + b


def reference(layer, x, weights, channels_first=False):
    """What ``layer`` must compute on ``x`` with ``weights`` (float64, any data_format)."""
    x = np.asarray(x, np.float64)
    ws = [np.asarray(w, np.float64) for w in weights]
    if channels_first:
        x = np.moveaxis(x, 1, -1)
    bias = ws[-1] if layer.use_bias else None
    args = (layer.strides, layer.padding, layer.dilation_rate)
    if isinstance(layer, (SeparableConv1D, SeparableConv2D)):
        y = separable(x, ws[0], ws[1], bias, *args)
    elif isinstance(layer, (DepthwiseConv1D, DepthwiseConv2D)):
        y = depthwise(x, ws[0], bias, *args)
    else:
        y = full_conv(x, ws[0], bias, *args)
    return np.moveaxis(y, -1, 1) if channels_first else y


def random_weights(layer, rng):
    """Normal values for every weight (bias included, so it is visible in the output)."""
    return [rng.standard_normal(w.shape) for w in layer.weights]


def output_length(L, k, s, d, padding):
    ek = d * (k - 1) + 1
    return -(-L // s) if padding in ("same", "causal") else (L - ek) // s + 1


# ----------------------------------------------------------------------------------------
# Keras's own test rows: depthwise_conv_test.py and separable_conv_test.py of Keras 3
# ----------------------------------------------------------------------------------------

# (rank, M, kernel_size, strides, padding, data_format, dilation, input shape, output shape)
DEPTHWISE_ROWS = [
    (1, 5, 2, 1, "valid", "channels_last", 1, (3, 5, 4), (3, 4, 20)),
    (1, 6, 2, 1, "same", "channels_last", (2,), (3, 4, 4), (3, 4, 24)),
    (1, 6, 2, (2,), "valid", "channels_last", 1, (3, 5, 4), (3, 2, 24)),
    (1, 6, 2, 1, "same", "channels_first", (2,), (3, 4, 10), (3, 24, 10)),
    (2, 5, 2, 1, "valid", "channels_last", 1, (3, 5, 5, 4), (3, 4, 4, 20)),
    (2, 6, 2, 1, "same", "channels_last", (2, 2), (3, 4, 4, 4), (3, 4, 4, 24)),
    (2, 6, (2, 2), (2, 2), "valid", "channels_last", (1, 1), (3, 5, 5, 4), (3, 2, 2, 24)),
]

# (rank, M, F, kernel_size, strides, padding, dilation, input shape, output shape)
SEPARABLE_ROWS = [
    (1, 5, 5, 2, 1, "valid", 1, (3, 5, 4), (3, 4, 5)),
    (1, 6, 6, 2, 1, "same", (2,), (3, 4, 4), (3, 4, 6)),
    (1, 6, 6, 2, (2,), "valid", 1, (3, 5, 4), (3, 2, 6)),
    (2, 5, 5, 2, 1, "valid", 1, (3, 5, 5, 4), (3, 4, 4, 5)),
    (2, 6, 6, 2, 1, "same", (2, 2), (3, 4, 4, 4), (3, 4, 4, 6)),
    (2, 6, 6, (2, 2), (2, 2), "valid", (1, 1), (3, 5, 5, 4), (3, 2, 2, 6)),
]


def _depthwise_row(row):
    rank, M, k, s, padding, fmt, d, in_shape, out_shape = row
    layer = DEPTHWISE[rank](kernel_size=k, strides=s, padding=padding, depth_multiplier=M,
                            data_format=fmt, dilation_rate=d)
    return layer, in_shape, out_shape


def _separable_row(row):
    rank, M, F, k, s, padding, d, in_shape, out_shape = row
    layer = SEPARABLE[rank](filters=F, kernel_size=k, strides=s, padding=padding,
                            depth_multiplier=M, dilation_rate=d)
    return layer, in_shape, out_shape


def _run_layer_test(layer, in_shape, out_shape, n_trainable):
    """What Keras's run_layer_test checks: shapes, weight counts, losses, config, a step."""
    assert layer.compute_output_shape((None,) + in_shape[1:]) == (None,) + out_shape[1:]
    x = np.random.default_rng(0).standard_normal(in_shape).astype("float32")
    y = layer(x)
    assert y.shape == out_shape and y.dtype == np.float32
    assert layer.compute_output_shape(in_shape) == out_shape
    assert len(layer.trainable_weights) == n_trainable
    assert layer.non_trainable_weights == [] and layer.losses == []
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() and not clone.built
    # One SGD step on loss = sum(y) changes every weight.
    before = layer.get_weights()
    with mg.GradientTape() as tape:
        loss = layer(x).sum()
    grads = tape.gradient(loss, layer.trainable_weights)
    for w, g in zip(layer.trainable_weights, grads):
        assert g.shape == w.shape
        w.assign(w.data - 0.01 * g)
    assert all(not np.array_equal(a, b) for a, b in zip(before, layer.get_weights()))


@pytest.mark.parametrize("row", DEPTHWISE_ROWS)
def test_keras_depthwise_rows_shapes(row):
    _run_layer_test(*_depthwise_row(row), n_trainable=2)


@pytest.mark.parametrize("row", SEPARABLE_ROWS)
def test_keras_separable_rows_shapes(row):
    _run_layer_test(*_separable_row(row), n_trainable=3)


@pytest.mark.parametrize("row", DEPTHWISE_ROWS)
def test_keras_depthwise_rows_values(row):
    layer, in_shape, _ = _depthwise_row(row)
    first = layer.data_format == "channels_first"
    shape = {1: (2, 4, 8) if first else (2, 8, 4), 2: (2, 8, 8, 4)}[layer.rank]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype("float32")
    layer(x)
    weights = random_weights(layer, rng)
    layer.set_weights(weights)
    expected = reference(layer, x, layer.get_weights(), first)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("row", SEPARABLE_ROWS)
def test_keras_separable_rows_values(row):
    layer, in_shape, _ = _separable_row(row)
    shape = {1: (2, 8, 4), 2: (2, 8, 8, 4)}[layer.rank]
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype("float32")
    layer(x)
    layer.set_weights(random_weights(layer, rng))
    expected = reference(layer, x, layer.get_weights())
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make, shape", [
    (lambda: DepthwiseConv1D(11, strides=5, padding="valid"), (4, 10, 3)),
    (lambda: DepthwiseConv2D(5, strides=2, padding="valid"), (2, 4, 4, 3)),
    (lambda: SeparableConv1D(64, 11, strides=5), (4, 10, 12)),
    (lambda: SeparableConv2D(8, 5, strides=2), (2, 4, 4, 3)),
    (lambda: Conv1D(4, 11, strides=5), (4, 10, 3)),
])
def test_keras_invalid_output_shape_raises(make, shape):
    layer = make()
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        layer(np.zeros(shape, "float32"))
    assert not layer.built and layer.weights == []
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        layer.compute_output_shape(shape)


# tf.keras 2.15 rows: input (2, 7, 3) / (2, 7, 6, 3), kernel 3, filters 2.
TF_SEPARABLE_1D = [
    ({"padding": "valid"}, (2, 5, 2)), ({"padding": "same"}, (2, 7, 2)),
    ({"padding": "same", "dilation_rate": 2}, (2, 7, 2)), ({"padding": "causal"}, (2, 7, 2)),
    ({"strides": 2}, (2, 3, 2)), ({"dilation_rate": 2}, (2, 3, 2)),
    ({"depth_multiplier": 2}, (2, 5, 2)),
]
TF_SEPARABLE_2D = [
    ({"padding": "valid"}, (2, 5, 4, 2)), ({"padding": "same"}, (2, 7, 6, 2)),
    ({"padding": "same", "dilation_rate": 2}, (2, 7, 6, 2)), ({"strides": 2}, (2, 3, 2, 2)),
    ({"dilation_rate": 2}, (2, 3, 2, 2)), ({"depth_multiplier": 2}, (2, 5, 4, 2)),
]
TF_DEPTHWISE_1D = [
    ({"padding": "valid"}, (2, 5, 3)), ({"padding": "same"}, (2, 7, 3)),
    ({"strides": 2}, (2, 3, 3)), ({"depth_multiplier": 1}, (2, 5, 3)),
    ({"depth_multiplier": 2}, (2, 5, 6)), ({"dilation_rate": 2}, (2, 3, 3)),
]
TF_DEPTHWISE_2D = [
    ({"padding": "valid"}, (2, 5, 4, 3)), ({"padding": "same"}, (2, 7, 6, 3)),
    ({"strides": 2}, (2, 3, 2, 3)), ({"depth_multiplier": 2}, (2, 5, 4, 6)),
    ({"dilation_rate": (2, 2)}, (2, 3, 2, 3)),
]


@pytest.mark.parametrize("cls, kwargs, out", [(SeparableConv1D, *r) for r in TF_SEPARABLE_1D]
                         + [(SeparableConv2D, *r) for r in TF_SEPARABLE_2D]
                         + [(DepthwiseConv1D, *r) for r in TF_DEPTHWISE_1D]
                         + [(DepthwiseConv2D, *r) for r in TF_DEPTHWISE_2D])
def test_tf_keras_rows(cls, kwargs, out):
    if cls.separable:
        layer = cls(2, 3, **kwargs)
    else:
        layer = cls(3, **kwargs)
    shape = (2, 7, 3) if layer.rank == 1 else (2, 7, 6, 3)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    y = layer(x)
    assert y.shape == out == layer.compute_output_shape(shape)
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + out[1:]
    layer.set_weights(random_weights(layer, rng))
    np.testing.assert_allclose(layer(x).numpy(), reference(layer, x, layer.get_weights()),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls, shape, out", [
    (DepthwiseConv1D, (2, 3, 7), (2, 3, 5)), (SeparableConv2D, (2, 3, 7, 6), (2, 2, 5, 4)),
    (DepthwiseConv2D, (2, 3, 7, 6), (2, 3, 5, 4)), (SeparableConv1D, (2, 3, 7), (2, 2, 5)),
])
def test_tf_keras_channels_first_rows(cls, shape, out):
    layer = cls(2, 3, data_format="channels_first") if cls.separable else \
        cls(3, data_format="channels_first")
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    assert layer(x).shape == out
    layer.set_weights(random_weights(layer, rng))
    np.testing.assert_allclose(layer(x).numpy(),
                               reference(layer, x, layer.get_weights(), channels_first=True),
                               rtol=1e-5, atol=1e-5)


def test_tf_keras_regularizer_and_constraint_rows():
    layer = SeparableConv1D(2, 3, depthwise_regularizer="l2", pointwise_regularizer="l2",
                            bias_regularizer="l2", activity_regularizer="l2")
    layer.build((2, 7, 3))
    assert len(layer.losses) == 3
    layer(np.ones((2, 7, 3)))
    assert len(layer.losses) == 4
    k_c, p_c, b_c = constraints.MaxNorm(1.0), constraints.NonNeg(), constraints.UnitNorm()
    layer = SeparableConv2D(2, 3, depthwise_constraint=k_c, pointwise_constraint=p_c,
                            bias_constraint=b_c)
    layer(np.ones((2, 7, 6, 3)))
    assert layer.depthwise_kernel.constraint is k_c
    assert layer.pointwise_kernel.constraint is p_c
    assert layer.bias.constraint is b_c


# ----------------------------------------------------------------------------------------
# Impulse responses and hand-computed answers
# ----------------------------------------------------------------------------------------

def _taps_layer(cls, taps, **kwargs):
    """A 1-channel rank-1 layer whose depthwise kernel is ``taps`` (no bias)."""
    layer = cls(len(taps), use_bias=False, dtype="float64", **kwargs)
    layer.build((1, 8, 1))
    layer.set_weights([np.asarray(taps, float).reshape(-1, 1, 1)])
    return layer


def _signal(values):
    return np.asarray(values, float).reshape(1, -1, 1)


def test_impulse_same_k4_pads_one_left_two_right():
    layer = _taps_layer(DepthwiseConv1D, [1, 10, 100, 1000], padding="same")
    y = layer(_signal([1, 0, 0, 0, 0])).numpy().ravel()
    np.testing.assert_array_equal(y, [10, 1, 0, 0, 0])


def test_impulse_same_k2_pads_right_only():
    layer = _taps_layer(DepthwiseConv1D, [1, 10], padding="same")
    np.testing.assert_array_equal(layer(_signal([1, 0, 0, 0, 0])).numpy().ravel(),
                                  [1, 0, 0, 0, 0])


def test_impulse_same_2d_2x2_pads_bottom_right():
    layer = DepthwiseConv2D((2, 2), padding="same", use_bias=False, dtype="float64")
    layer.build((1, 4, 4, 1))
    layer.set_weights([np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(2, 2, 1, 1)])
    x = np.zeros((1, 4, 4, 1))
    x[0, 0, 0, 0] = 1
    y = layer(x).numpy()[0, :, :, 0]
    expected = np.zeros((4, 4))
    expected[0, 0] = 1
    np.testing.assert_array_equal(y, expected)


def test_same_strided_even_length_pads_end():
    layer = _taps_layer(DepthwiseConv1D, [1, 10, 100], padding="same", strides=2)
    y = layer(_signal([1, 2, 3, 4, 5, 6])).numpy().ravel()
    np.testing.assert_array_equal(y, [321, 543, 65])


@pytest.mark.parametrize("cls", [DepthwiseConv1D, Conv1D])
def test_causal_dilated(cls):
    """y[t] = K0 x[t-4] + K1 x[t-2] + K2 x[t] for k=3, d=2."""
    if cls is Conv1D:
        layer = Conv1D(1, 3, padding="causal", dilation_rate=2, use_bias=False, dtype="float64")
        layer.build((1, 6, 1))
        layer.set_weights([np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)])
    else:
        layer = _taps_layer(cls, [1, 10, 100], padding="causal", dilation_rate=2)
    y = layer(_signal([1, 2, 3, 4, 5, 6])).numpy().ravel()
    np.testing.assert_array_equal(y, [100, 200, 310, 420, 531, 642])


def test_causal_strided_pads_d_times_k_minus_1():
    """Strided causal always pads d*(k-1) on the left: y[t] = K0 x[2t-2] + K1 x[2t-1] + K2 x[2t]."""
    layer = _taps_layer(DepthwiseConv1D, [1, 10, 100], padding="causal", strides=2)
    y = layer(_signal([1, 2, 3, 4, 5, 6])).numpy().ravel()
    np.testing.assert_array_equal(y, [100, 321, 543])
    sep = SeparableConv1D(1, 3, strides=2, padding="causal", use_bias=False, dtype="float64")
    sep.build((1, 6, 1))
    sep.set_weights([np.array([1.0, 10, 100]).reshape(3, 1, 1), np.full((1, 1, 1), 2.0)])
    np.testing.assert_array_equal(sep(_signal([1, 2, 3, 4, 5, 6])).numpy().ravel(),
                                  [200, 642, 1086])


def test_causal_output_never_sees_the_future():
    rng = np.random.default_rng(5)
    layer = SeparableConv1D(3, 3, padding="causal", dilation_rate=2, dtype="float64")
    x = rng.standard_normal((2, 9, 2))
    y = layer(x).numpy()
    x2 = x.copy()
    x2[:, 5:] = rng.standard_normal((2, 4, 2))       # change the future after t = 4
    np.testing.assert_array_equal(layer(x2).numpy()[:, :5], y[:, :5])


def test_channel_order_is_c_times_m_plus_m():
    """Output channel c*M + m is input channel c filtered by kernel[..., c, m]."""
    layer = DepthwiseConv1D(1, depth_multiplier=3, use_bias=False, dtype="float64")
    layer.build((1, 1, 2))
    kernel = np.arange(1.0, 7.0).reshape(1, 2, 3)             # [c, m] -> 1 + 3c + m
    layer.set_weights([kernel])
    y = layer(np.array([[[1.0, 100.0]]])).numpy().ravel()
    np.testing.assert_array_equal(y, [1, 2, 3, 400, 500, 600])


def test_bias_on_channels_first_axis():
    layer = DepthwiseConv2D(1, depth_multiplier=2, data_format="channels_first",
                            dtype="float64")
    layer.build((1, 2, 3, 3))
    layer.set_weights([np.ones((1, 1, 2, 2)), np.array([1.0, 2, 3, 4])])
    y = layer(np.zeros((1, 2, 3, 3))).numpy()
    np.testing.assert_array_equal(y[0, :, 1, 1], [1, 2, 3, 4])
    assert y.shape == (1, 4, 3, 3)


def test_spec_example_shape():
    """The seed's worked example: SeparableConv1D(3, 2, 2, 'relu') on (4, 10, 12) -> (4, 5, 3)."""
    layer = SeparableConv1D(3, 2, 2, activation="relu")
    y = layer(np.random.default_rng(0).random((4, 10, 12)).astype("float32"))
    assert y.shape == (4, 5, 3) and (y.numpy() >= 0).all()
    assert [w.shape for w in layer.get_weights()] == [(2, 12, 1), (1, 12, 3), (3,)]


# ----------------------------------------------------------------------------------------
# Hypothesis over the argument space: shapes and values against the reference
# ----------------------------------------------------------------------------------------

@st.composite
def layer_configs(draw, kinds=("depthwise", "separable", "conv")):
    kind = draw(st.sampled_from(kinds))
    rank = draw(st.sampled_from([1, 2]))
    ks = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    # The seeds' rule: strides > 1 and dilation > 1 never together.
    if draw(st.booleans()):
        strides, dilation = tuple(draw(st.integers(1, 3)) for _ in range(rank)), (1,) * rank
    else:
        strides, dilation = (1,) * rank, tuple(draw(st.integers(1, 2)) for _ in range(rank))
    paddings = ["valid", "same"] + (["causal"] if rank == 1 else [])
    return dict(
        kind=kind, rank=rank, kernel_size=ks, strides=strides, dilation_rate=dilation,
        padding=draw(st.sampled_from(paddings)),
        data_format=draw(st.sampled_from(["channels_last", "channels_first"])),
        depth_multiplier=draw(st.integers(1, 3)), filters=draw(st.integers(1, 4)),
        use_bias=draw(st.booleans()),
        activation=draw(st.sampled_from([None, "relu", "tanh", "sigmoid"])),
        spatial=tuple(draw(st.integers(1, 8 if rank == 1 else 6)) for _ in range(rank)),
        channels=draw(st.integers(1, 3)), batch=draw(st.integers(1, 2)))


def make_layer(cfg, **extra):
    common = dict(kernel_size=cfg["kernel_size"], strides=cfg["strides"],
                  padding=cfg["padding"], data_format=cfg["data_format"],
                  dilation_rate=cfg["dilation_rate"], activation=cfg["activation"],
                  use_bias=cfg["use_bias"], **extra)
    if cfg["kind"] == "depthwise":
        return DEPTHWISE[cfg["rank"]](depth_multiplier=cfg["depth_multiplier"], **common)
    if cfg["kind"] == "separable":
        return SEPARABLE[cfg["rank"]](cfg["filters"], depth_multiplier=cfg["depth_multiplier"],
                                      **common)
    return CONV[cfg["rank"]](cfg["filters"], **common)


def input_shape_of(cfg):
    first = cfg["data_format"] == "channels_first"
    return ((cfg["batch"], cfg["channels"]) + cfg["spatial"] if first
            else (cfg["batch"],) + cfg["spatial"] + (cfg["channels"],))


def _apply_activation(name, y):
    return {None: lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
            "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[name](y)


@SETTINGS
@given(cfg=layer_configs())
def test_hypothesis_shapes_and_values(cfg):
    layer = make_layer(cfg, dtype="float64")
    shape = input_shape_of(cfg)
    lengths = [output_length(L, k, s, d, cfg["padding"]) for L, k, s, d in
               zip(cfg["spatial"], cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"])]
    x = np.random.default_rng(0).standard_normal(shape)
    if min(lengths) <= 0:
        with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
            layer(x)
        return
    out_channels = {"depthwise": cfg["channels"] * cfg["depth_multiplier"]}.get(
        cfg["kind"], cfg["filters"])
    first = cfg["data_format"] == "channels_first"
    expected_shape = ((cfg["batch"], out_channels) + tuple(lengths) if first
                      else (cfg["batch"],) + tuple(lengths) + (out_channels,))
    none_batch = layer.compute_output_shape((None,) + shape[1:])
    assert none_batch == (None,) + expected_shape[1:]
    y = layer(x)
    layer.set_weights(random_weights(layer, np.random.default_rng(1)))
    y = layer(x).numpy()
    expected = _apply_activation(cfg["activation"],
                                 reference(layer, x, layer.get_weights(), first))
    assert y.shape == expected.shape == expected_shape == layer.compute_output_shape(shape)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)
    # Unknown spatial sizes stay unknown.
    unknown = (shape[0], shape[1]) + (None,) * cfg["rank"] if first else \
        (shape[0],) + (None,) * cfg["rank"] + (shape[-1],)
    out = layer.compute_output_shape(unknown)
    assert out.count(None) == cfg["rank"]


@SETTINGS
@given(cfg=layer_configs(kinds=("depthwise", "separable")))
def test_hypothesis_float32_layer_matches_reference(cfg):
    layer = make_layer(cfg)
    shape = input_shape_of(cfg)
    lengths = [output_length(L, k, s, d, cfg["padding"]) for L, k, s, d in
               zip(cfg["spatial"], cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"])]
    if min(lengths) <= 0:
        return
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype("float32")
    layer.build(shape)
    layer.set_weights(random_weights(layer, rng))
    y = layer(x)
    assert y.dtype == np.float32
    expected = _apply_activation(cfg["activation"], reference(
        layer, x, layer.get_weights(), cfg["data_format"] == "channels_first"))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------------------
# Float64 gradient checks: input and every weight
# ----------------------------------------------------------------------------------------

@st.composite
def small_configs(draw):
    cfg = draw(layer_configs())
    cfg["activation"] = draw(st.sampled_from([None, "tanh", "sigmoid"]))   # smooth ones
    # Small inputs that still fit the dilated kernel, so every example is checked.
    cfg["spatial"] = tuple(d * (k - 1) + 1 + draw(st.integers(0, 2)) for k, d in
                           zip(cfg["kernel_size"], cfg["dilation_rate"]))
    cfg["batch"], cfg["channels"] = 2, draw(st.integers(1, 2))
    cfg["depth_multiplier"] = draw(st.integers(1, 2))
    cfg["filters"] = draw(st.integers(1, 2))
    return cfg


def _gradcheck_layer(layer, x):
    rng = np.random.default_rng(7)
    layer(x)
    layer.set_weights([rng.uniform(-1, 1, w.shape) for w in layer.weights])
    inputs = [x] + layer.weights
    mg.gradcheck(lambda xi, *ws: layer(xi), inputs)


@GRAD_SETTINGS
@given(cfg=small_configs())
def test_hypothesis_gradcheck(cfg):
    layer = make_layer(cfg, dtype="float64")
    x = np.random.default_rng(3).uniform(-1, 1, input_shape_of(cfg))
    _gradcheck_layer(layer, x)


@pytest.mark.parametrize("make, shape", [
    (lambda: DepthwiseConv1D(3, 1, "causal", 2, "channels_first", activation="tanh"), (2, 2, 6)),
    (lambda: DepthwiseConv2D((2, 3), (2, 1), "same", 2, "channels_first"), (2, 2, 4, 5)),
    (lambda: SeparableConv1D(3, 2, padding="causal", dilation_rate=2, depth_multiplier=2,
                             activation="sigmoid"), (2, 6, 2)),
    (lambda: SeparableConv2D(2, (3, 2), (1, 2), "same", "channels_first",
                             activation="tanh"), (2, 2, 4, 5)),
    (lambda: Conv1D(2, 3, 2, "causal", activation="tanh"), (2, 7, 2)),
    (lambda: Conv2D(2, 2, padding="same", data_format="channels_first"), (2, 2, 4, 3)),
])
def test_gradcheck_fixed_cases(make, shape, monkeypatch):
    monkeypatch.setattr(config, "floatx", lambda: "float64")
    layer = make()
    assert layer.dtype == np.float64
    _gradcheck_layer(layer, np.random.default_rng(4).uniform(-1, 1, shape))


def test_gradcheck_with_activity_and_weight_penalties():
    layer = SeparableConv1D(2, 2, depthwise_regularizer=regularizers.L2(0.1),
                            pointwise_regularizer=regularizers.L1(0.1),
                            bias_regularizer=regularizers.L2(0.2),
                            activity_regularizer=regularizers.L2(0.05), dtype="float64")
    x = np.random.default_rng(5).uniform(-1, 1, (3, 5, 2))
    layer(x)
    layer.set_weights([np.random.default_rng(6).uniform(-1, 1, w.shape) for w in layer.weights])

    def total(xi, *ws):
        y = layer(xi)
        loss = (y * y).sum()
        for penalty in layer.losses:
            loss = loss + penalty
        return loss

    mg.gradcheck(total, [x] + layer.weights)


# ----------------------------------------------------------------------------------------
# Weights: names, shapes, order, counts, initializers
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_weight_names_shapes_order(fmt):
    C, M, F = 3, 2, 5
    cases = [
        (DepthwiseConv1D(4, depth_multiplier=M, data_format=fmt), 1,
         [("depthwise_kernel", (4, C, M)), ("bias", (C * M,))]),
        (DepthwiseConv2D((4, 2), depth_multiplier=M, data_format=fmt), 2,
         [("depthwise_kernel", (4, 2, C, M)), ("bias", (C * M,))]),
        (SeparableConv1D(F, 4, depth_multiplier=M, data_format=fmt), 1,
         [("depthwise_kernel", (4, C, M)), ("pointwise_kernel", (1, C * M, F)), ("bias", (F,))]),
        (SeparableConv2D(F, (4, 2), depth_multiplier=M, data_format=fmt), 2,
         [("depthwise_kernel", (4, 2, C, M)), ("pointwise_kernel", (1, 1, C * M, F)),
          ("bias", (F,))]),
        (Conv1D(F, 4, data_format=fmt), 1, [("kernel", (4, C, F)), ("bias", (F,))]),
        (Conv2D(F, (4, 2), data_format=fmt), 2, [("kernel", (4, 2, C, F)), ("bias", (F,))]),
    ]
    for layer, rank, expected in cases:
        spatial = (9,) * rank
        shape = (2, C) + spatial if fmt == "channels_first" else (2,) + spatial + (C,)
        layer(np.zeros(shape, "float32"))
        assert [(w.name, w.shape) for w in layer.weights] == expected
        assert [w.path for w in layer.weights] == [f"{layer.name}/{n}" for n, _ in expected]
        assert [a.shape for a in layer.get_weights()] == [s for _, s in expected]
        assert all(w.dtype == np.float32 and w.trainable for w in layer.weights)
        attrs = [n if n != "kernel" else "kernel" for n, _ in expected]
        assert [getattr(layer, a) for a in attrs] == layer.weights


def test_depthwise_kernel_alias_and_no_bias():
    layer = DepthwiseConv1D(3, use_bias=False)
    assert layer.kernel is None and layer.depthwise_kernel is None
    layer(np.zeros((1, 5, 2)))
    assert layer.kernel is layer.depthwise_kernel and layer.bias is None
    assert len(layer.weights) == 1
    sep = SeparableConv2D(4, 3, use_bias=False)
    sep(np.zeros((1, 5, 5, 2)))
    assert sep.bias is None and [w.name for w in sep.weights] == ["depthwise_kernel",
                                                                  "pointwise_kernel"]


@pytest.mark.parametrize("make, shape, count", [
    (lambda: SeparableConv2D(8, 3), (1, 8, 8, 1), 9 + 8 + 8),
    (lambda: SeparableConv1D(3, 2, 2), (4, 10, 12), 2 * 12 + 12 * 3 + 3),
    (lambda: SeparableConv2D(16, (3, 3), depth_multiplier=2), (1, 9, 9, 8),
     9 * 8 * 2 + 16 * 16 + 16),
    (lambda: DepthwiseConv2D(3, depth_multiplier=2), (1, 6, 6, 4), 9 * 4 * 2 + 8),
    (lambda: DepthwiseConv1D(5, use_bias=False), (1, 6, 4), 20),
    (lambda: Conv2D(8, 3), (1, 8, 8, 3), 9 * 3 * 8 + 8),
    (lambda: Conv1D(4, 3, use_bias=False), (1, 8, 3), 36),
])
def test_param_counts_equal_keras(make, shape, count):
    layer = make()
    with pytest.raises(ValueError, match="isn't built"):
        layer.count_params()
    layer(np.zeros(shape, "float32"))
    assert layer.count_params() == count


def test_default_initializers_glorot_uniform_bounds_and_zero_bias():
    layer = DepthwiseConv1D(5, depth_multiplier=3)
    layer.build((1, 9, 64))
    bound = math.sqrt(6 / (5 * 64 + 5 * 3))
    dk = layer.get_weights()[0]
    assert np.abs(dk).max() <= bound and np.abs(dk).max() > 0.9 * bound
    assert not layer.get_weights()[1].any()
    sep = SeparableConv1D(10, 1, depth_multiplier=3)
    sep.build((1, 4, 64))
    pk = sep.get_weights()[1]
    bound = math.sqrt(6 / (192 + 10))
    assert np.abs(pk).max() <= bound and np.abs(pk).max() > 0.9 * bound


def test_initializers_by_name_and_object():
    layer = SeparableConv1D(2, 3, depthwise_initializer="ones", pointwise_initializer="zeros",
                            bias_initializer="ones")
    layer.build((1, 5, 2))
    dk, pk, b = layer.get_weights()
    assert (dk == 1).all() and (pk == 0).all() and (b == 1).all()
    from minigrad import initializers
    layer = DepthwiseConv2D(2, depthwise_initializer=initializers.Constant(0.5),
                            bias_initializer=None)
    layer.build((1, 3, 3, 2))
    assert (layer.get_weights()[0] == 0.5).all() and (layer.get_weights()[1] == 0).all()


# ----------------------------------------------------------------------------------------
# Regularizers, constraints, losses, trainable
# ----------------------------------------------------------------------------------------

def _regularized_separable(**kwargs):
    return SeparableConv1D(2, 3, depthwise_regularizer=regularizers.L2(0.1),
                           pointwise_regularizer=regularizers.L1(0.2),
                           bias_regularizer=regularizers.L2(0.3),
                           activity_regularizer=regularizers.L2(0.01), dtype="float64",
                           **kwargs)


def test_losses_order_and_values():
    layer = _regularized_separable()
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 6, 3))
    layer(x)
    layer.set_weights(random_weights(layer, rng))
    y = layer(x).numpy()
    dk, pk, b = layer.get_weights()
    losses = [float(v.numpy()) for v in layer.losses]
    expected = [0.01 * (y ** 2).sum() / 4, 0.1 * (dk ** 2).sum(), 0.2 * np.abs(pk).sum(),
                0.3 * (b ** 2).sum()]
    np.testing.assert_allclose(losses, expected, rtol=1e-6)
    layer(x)                                       # calling again does not accumulate
    assert len(layer.losses) == 4


def test_depthwise_losses_order():
    layer = DepthwiseConv2D(2, depthwise_regularizer="l2", bias_regularizer="l1",
                            activity_regularizer="l1", bias_initializer="ones")
    layer.build((1, 3, 3, 2))
    assert len(layer.losses) == 2
    np.testing.assert_allclose(float(layer.losses[1].numpy()), 0.01 * 2, rtol=1e-6)
    layer(np.ones((2, 3, 3, 2)))
    assert len(layer.losses) == 3
    y = layer(np.ones((2, 3, 3, 2))).numpy()
    np.testing.assert_allclose(float(layer.losses[0].numpy()), 0.01 * np.abs(y).sum() / 2,
                               rtol=1e-5)


def test_trainable_false_gates_weight_penalties_not_activity():
    layer = _regularized_separable(trainable=False)
    layer(np.ones((2, 6, 3)))
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3
    assert len(layer.losses) == 1                   # the activity penalty only
    assert layer.get_config()["trainable"] is False
    layer.trainable = True
    assert len(layer.losses) == 4 and len(layer.trainable_weights) == 3
    layer.trainable = False
    assert len(layer.losses) == 1
    assert all(not w.trainable for w in layer.weights)


def test_constraints_attached_by_name():
    layer = SeparableConv1D(2, 3, depthwise_constraint="non_neg",
                            pointwise_constraint="max_norm", bias_constraint="unit_norm")
    layer(np.ones((1, 5, 2)))
    assert isinstance(layer.depthwise_kernel.constraint, constraints.NonNeg)
    assert isinstance(layer.pointwise_kernel.constraint, constraints.MaxNorm)
    assert isinstance(layer.bias.constraint, constraints.UnitNorm)
    dw = DepthwiseConv1D(3, depthwise_constraint="non_neg", bias_constraint="non_neg")
    dw(np.ones((1, 5, 2)))
    assert isinstance(dw.kernel.constraint, constraints.NonNeg)
    assert isinstance(dw.bias.constraint, constraints.NonNeg)
    conv = Conv1D(2, 3, kernel_constraint="non_neg", bias_constraint="non_neg")
    conv(np.ones((1, 5, 2)))
    assert isinstance(conv.kernel.constraint, constraints.NonNeg)
    assert isinstance(conv.bias.constraint, constraints.NonNeg)


def test_constraints_are_not_applied_at_build_or_call():
    layer = DepthwiseConv1D(2, depthwise_constraint=constraints.NonNeg(),
                            depthwise_initializer=mg.initializers.Constant(-1.0))
    layer(np.ones((1, 4, 1)))
    assert (layer.get_weights()[0] == -1).all()


def test_regularizer_objects_attached():
    reg = regularizers.L2(0.5)
    layer = SeparableConv2D(2, 2, pointwise_regularizer=reg)
    layer.build((1, 3, 3, 1))
    assert layer.pointwise_kernel.regularizer is reg
    assert layer.depthwise_kernel.regularizer is None and layer.bias.regularizer is None


# ----------------------------------------------------------------------------------------
# Config round trip, names, Keras 2 keywords, dtype
# ----------------------------------------------------------------------------------------

COMMON_KEYS = {"name", "trainable", "dtype", "depth_multiplier", "kernel_size", "strides",
               "padding", "data_format", "dilation_rate", "activation", "use_bias",
               "depthwise_initializer", "bias_initializer", "depthwise_regularizer",
               "bias_regularizer", "activity_regularizer", "depthwise_constraint",
               "bias_constraint"}
SEPARABLE_KEYS = COMMON_KEYS | {"filters", "pointwise_initializer", "pointwise_regularizer",
                                "pointwise_constraint"}
CONV_KEYS = {"name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding",
             "data_format", "dilation_rate", "groups", "activation", "use_bias",
             "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
             "activity_regularizer", "kernel_constraint", "bias_constraint"}


def test_config_keys_and_values():
    layer = DepthwiseConv1D(3, padding="SAME", depth_multiplier=2, activation=None)
    config_ = layer.get_config()
    assert set(config_) == COMMON_KEYS
    assert config_["kernel_size"] == (3,) and config_["strides"] == (1,)
    assert config_["dilation_rate"] == (1,) and config_["padding"] == "same"
    assert config_["data_format"] == "channels_last" and config_["activation"] == "linear"
    assert config_["depthwise_initializer"]["class_name"] == "GlorotUniform"
    assert config_["depthwise_regularizer"] is None and config_["dtype"] == "float32"
    sep = SeparableConv2D(4, 3, activation="relu", depthwise_constraint="max_norm")
    config_ = sep.get_config()
    assert set(config_) == SEPARABLE_KEYS and config_["filters"] == 4
    assert config_["kernel_size"] == (3, 3) and config_["activation"] == "relu"
    assert config_["depthwise_constraint"]["config"] == {"max_value": 2, "axis": 0}
    assert set(Conv2D(2, 3).get_config()) == CONV_KEYS


@pytest.mark.parametrize("make", [
    lambda: DepthwiseConv1D(3, 2, "causal", 2, "channels_first", activation="tanh",
                            use_bias=False, depthwise_regularizer="l2",
                            activity_regularizer="l1", depthwise_constraint="non_neg",
                            name="dw", trainable=False, dtype="float64"),
    lambda: SeparableConv2D(4, (3, 2), (1, 1), "same", None, (2, 1), 3, "relu",
                            depthwise_initializer="he_normal", pointwise_initializer="ones",
                            bias_initializer="zeros", pointwise_regularizer="l1",
                            bias_regularizer="l2", pointwise_constraint="unit_norm",
                            bias_constraint="max_norm"),
    lambda: SeparableConv1D(2, 3, input_shape=(10, 4)),
    lambda: Conv1D(3, 2, padding="causal", kernel_regularizer="l2", kernel_constraint="non_neg"),
])
def test_from_config_round_trip(make):
    layer = make()
    clone = type(layer).from_config(layer.get_config())
    assert not clone.built and clone.get_config() == layer.get_config()
    shape = {1: (2, 4, 10) if layer.data_format == "channels_first" else (2, 10, 4),
             2: (2, 8, 8, 4)}[layer.rank]
    layer(np.ones(shape))
    clone(np.ones(shape))
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    assert clone.get_build_config() == layer.get_build_config()
    fresh = type(layer).from_config(layer.get_config())
    fresh.build_from_config(layer.get_build_config())
    assert fresh.built and len(fresh.weights) == len(layer.weights)


def test_aliases_are_the_same_class():
    assert SeparableConvolution1D is SeparableConv1D
    assert SeparableConvolution2D is SeparableConv2D


def test_default_names_unique():
    clear_session()
    names = [SeparableConv1D(2, 2).name, SeparableConv1D(2, 2).name,
             SeparableConvolution1D(2, 2).name, DepthwiseConv1D(2).name, DepthwiseConv2D(2).name,
             SeparableConv2D(2, 2).name, DepthwiseConv2D(2).name, Conv1D(1, 1).name,
             Conv2D(1, 1).name]
    assert names == ["separable_conv1d", "separable_conv1d_1", "separable_conv1d_2",
                     "depthwise_conv1d", "depthwise_conv2d", "separable_conv2d",
                     "depthwise_conv2d_1", "conv1d", "conv2d"]
    assert SeparableConv1D(2, 2, name="mine").name == "mine"


def test_data_format_none_follows_config():
    previous = config.image_data_format()
    try:
        config.set_image_data_format("channels_first")
        layer = SeparableConv1D(2, 3)
        assert layer.data_format == "channels_first"
        assert layer(np.ones((1, 4, 7))).shape == (1, 2, 5)
    finally:
        config.set_image_data_format(previous)
    assert SeparableConv1D(2, 3).data_format == previous


def test_weights_keyword_sets_initial_values():
    rng = np.random.default_rng(9)
    ws = [rng.standard_normal((3, 2, 1)), rng.standard_normal((1, 2, 4)),
          rng.standard_normal(4)]
    layer = SeparableConv1D(4, 3, weights=ws, dtype="float64")
    x = rng.standard_normal((2, 6, 2))
    y = layer(x).numpy()
    for a, b in zip(layer.get_weights(), ws):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(y, reference(layer, x, ws), rtol=1e-12)
    bad = DepthwiseConv1D(3, weights=[np.zeros((3, 2, 1))])        # bias missing
    with pytest.raises(ValueError, match="weight list of length 1"):
        bad(np.zeros((1, 5, 2)))


def test_batch_input_shape_and_batch_size():
    layer = DepthwiseConv1D(3, batch_input_shape=(4, 10, 2))
    assert layer(np.zeros((4, 10, 2))).shape == (4, 8, 2)
    with pytest.raises(ValueError, match="batch"):
        layer(np.zeros((3, 10, 2)))
    layer = SeparableConv2D(2, 3, input_shape=(5, 5, 1), batch_size=2)
    assert layer.input_shape_hint == (2, 5, 5, 1)
    with pytest.raises(ValueError, match="batch"):
        layer(np.zeros((1, 5, 5, 1)))
    assert layer(np.zeros((2, 5, 5, 1))).shape == (2, 3, 3, 2)
    free = SeparableConv1D(2, 3, input_shape=(10, 4))
    assert free.input_shape_hint == (None, 10, 4)
    assert free(np.zeros((7, 10, 4))).shape == (7, 8, 2)


def test_dtypes():
    layer = SeparableConv1D(2, 2)
    assert layer(np.ones((1, 4, 2))).dtype == np.float32               # float64 in, cast
    layer = DepthwiseConv2D(2, dtype="float64")
    y = layer(np.ones((1, 3, 3, 1), "float32"))
    assert y.dtype == np.float64 and layer.depthwise_kernel.dtype == np.float64
    assert layer(mg.Tensor(np.ones((1, 3, 3, 1)))).shape == (1, 2, 2, 1)
    assert layer(np.ones((1, 3, 3, 1), "int64")).dtype == np.float64
    with pytest.raises(ValueError, match="dtype"):
        DepthwiseConv1D(2, dtype="int32")


def test_input_gradient_flows_through_stacked_layers():
    a = SeparableConv1D(4, 3, padding="same", activation="relu", dtype="float64")
    b = DepthwiseConv1D(2, padding="causal", dtype="float64")
    x = mg.Tensor(np.random.default_rng(10).standard_normal((2, 6, 3)))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = b(a(x)).sum()
    grads = tape.gradient(y, [x] + a.trainable_weights + b.trainable_weights)
    assert all(g is not None for g in grads)


# ----------------------------------------------------------------------------------------
# Errors (Keras's argument checks, and minigrad's documented deviations)
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: DepthwiseConv1D(depth_multiplier=0, kernel_size=1),
     r"Invalid value for argument `depth_multiplier`.*Received depth_multiplier=0"),
    (lambda: DepthwiseConv1D(2, depth_multiplier=None), r"depth_multiplier=None"),
    (lambda: SeparableConv1D(2, 2, depth_multiplier=-1), r"depth_multiplier=-1"),
    (lambda: SeparableConv1D(2, 2, depth_multiplier=1.5), r"depth_multiplier=1.5"),
    (lambda: SeparableConv2D(0, 2), r"Invalid value for argument `filters`.*filters=0"),
    (lambda: SeparableConv1D(None, 2), r"filters=None"),
    (lambda: SeparableConv1D(-3, 2), r"filters=-3"),
    (lambda: Conv1D(0, 2), r"filters=0"),
    (lambda: DepthwiseConv2D(kernel_size=(1, 0)),
     r"`kernel_size`.*kernel_size=\(1, 0\), including values \{0\} that do not satisfy"),
    (lambda: DepthwiseConv2D(kernel_size=(2, 2), strides=(1, 0)), r"`strides`.*\{0\}"),
    (lambda: SeparableConv1D(2, 2, dilation_rate=-1), r"`dilation_rate`.*\{-1\}"),
    (lambda: DepthwiseConv1D(0), r"kernel_size=0"),
    (lambda: DepthwiseConv1D((2, 2)), r"`kernel_size` argument must be an integer or a tuple "
                                      r"of 1 integers. Received kernel_size=\(2, 2\)"),
    (lambda: SeparableConv2D(2, (2, 2, 2)), r"tuple of 2 integers"),
    (lambda: DepthwiseConv2D((2,)), r"tuple of 2 integers"),
    (lambda: DepthwiseConv1D(2.0), r"kernel_size=2.0"),
    (lambda: DepthwiseConv1D((2.0,)), r"kernel_size=\(2.0,\)"),
    (lambda: DepthwiseConv1D("3"), r"kernel_size='3'"),
    (lambda: DepthwiseConv1D(True), r"kernel_size=True"),
    (lambda: DepthwiseConv1D(None), r"kernel_size=None"),
    (lambda: SeparableConv1D(2, 2, strides=1.5), r"strides=1.5"),
    (lambda: DepthwiseConv1D(2, padding="full"), r"`padding`.*Received: padding='full'"),
    (lambda: DepthwiseConv1D(2, padding=[1, 1]), r"`padding`.*padding=\[1, 1\]"),
    (lambda: SeparableConv2D(2, 2, padding=((1, 1), (1, 1))), r"padding=\(\(1, 1\)"),
    (lambda: SeparableConv2D(2, 2, padding="causal"), r"padding='causal'.*only supported by "
                                                        r"the 1D layers"),
    (lambda: DepthwiseConv2D(2, padding="CAUSAL"), r"only supported by the 1D layers"),
    (lambda: Conv2D(2, 2, padding="causal"), r"only supported by the 1D layers"),
    (lambda: SeparableConv1D(2, 2, data_format="channels_middle"),
     r"`data_format`.*channels_middle"),
    (lambda: DepthwiseConv1D(2, data_format=1), r"data_format=1"),
    (lambda: SeparableConv1D(2, 2, strides=2, dilation_rate=2),
     r"`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
     r"strides=\(2,\) and dilation_rate=\(2,\)"),
    (lambda: DepthwiseConv2D(kernel_size=(2, 2), strides=2, dilation_rate=(2, 1)),
     r"strides=\(2, 2\) and dilation_rate=\(2, 1\)"),
    (lambda: DepthwiseConv1D(3, strides=2, dilation_rate=2), r"`strides > 1` not supported"),
    (lambda: SeparableConv2D(2, 2, strides=(1, 2), dilation_rate=(2, 1)),
     r"`strides > 1` not supported"),
    (lambda: Conv1D(2, 3, strides=2, dilation_rate=2), r"`strides > 1` not supported"),
    (lambda: Conv2D(2, 3, groups=2), r"groups=2"),
    (lambda: SeparableConv1D(2, 2, use_bias="yes"), r"use_bias"),
    (lambda: SeparableConv1D(2, 2, trainable=0), r"Expected `trainable` to be a boolean. "
                                                  r"Received: trainable=0"),
    (lambda: DepthwiseConv1D(2, trainable=None), r"trainable=None"),
    (lambda: SeparableConv1D(2, 2, depthwise_initializer="glorot"), r"initializer.*glorot"),
    (lambda: SeparableConv1D(2, 2, pointwise_initializer="nope"), r"initializer.*nope"),
    (lambda: DepthwiseConv1D(2, bias_initializer="nope"), r"initializer.*nope"),
    (lambda: DepthwiseConv1D(2, depthwise_regularizer="l3"), r"regularizer.*l3"),
    (lambda: SeparableConv1D(2, 2, pointwise_regularizer="l3"), r"regularizer.*l3"),
    (lambda: SeparableConv1D(2, 2, activity_regularizer="l3"), r"regularizer.*l3"),
    (lambda: DepthwiseConv1D(2, bias_constraint="nonneg"), r"constraint.*nonneg"),
    (lambda: SeparableConv1D(2, 2, pointwise_constraint="maxnorm"), r"constraint.*maxnorm"),
    (lambda: SeparableConv1D(2, 2, activation="relux"), r"activation.*relux"),
    (lambda: Conv1D(2, 2, kernel_initializer="nope"), r"initializer.*nope"),
    (lambda: SeparableConv1D(2, 2, depthwise_size=3), r"Unrecognized keyword arguments "
                                                       r"passed to SeparableConv1D"),
    (lambda: DepthwiseConv2D(2, kernel_regularizer="l2"), r"Unrecognized keyword.*"
                                                           r"kernel_regularizer"),
    (lambda: DepthwiseConv1D(2, filters=3), r"Unrecognized keyword.*filters"),
    (lambda: DepthwiseConv2D(2, pointwise_initializer="ones"), r"Unrecognized keyword.*"
                                                                r"pointwise_initializer"),
    (lambda: DepthwiseConv1D(2, layer_kwargs={}), r"Unrecognized keyword.*layer_kwargs"),
])
def test_constructor_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_positional_order_depth_multiplier():
    dw = DepthwiseConv1D(3, 2, "same", 4)
    assert (dw.kernel_size, dw.strides, dw.padding, dw.depth_multiplier) == ((3,), (2,), "same", 4)
    sep = SeparableConv1D(5, 3, 1, "valid", "channels_last", 2, 3, "relu", False)
    assert (sep.filters, sep.dilation_rate, sep.depth_multiplier, sep.use_bias) == (5, (2,), 3,
                                                                                   False)
    # The Keras docstring's DepthwiseConv1D(3, 3, 2, ...) passes an int as padding.
    with pytest.raises(ValueError, match="padding=2"):
        DepthwiseConv1D(3, 3, 2)
    assert DepthwiseConv2D(2, (1, 2)).strides == (1, 2)
    assert SeparableConv2D(3, (2, 3), padding="Same").padding == "same"


@pytest.mark.parametrize("make, shape, match", [
    (lambda: DepthwiseConv1D(2), (2, 10), r"expected min_ndim=3, found ndim=2. Full shape "
                                          r"received: \(2, 10\)"),
    (lambda: SeparableConv2D(2, 2), (2, 10, 3), r"expected min_ndim=4, found ndim=3"),
    (lambda: DepthwiseConv1D(2), (2, 10, 10, 4), r"expected ndim=3.*found ndim=4"),
    (lambda: SeparableConv1D(2, 2), (2, 10, 10, 4), r"expected ndim=3.*found ndim=4"),
    (lambda: Conv2D(2, 2), (2, 3, 3, 3, 3), r"expected ndim=4"),
    (lambda: DepthwiseConv2D(5), (1, 4, 9, 2), r"Computed output size would be zero"),
    (lambda: SeparableConv1D(2, 3, dilation_rate=3), (1, 6, 2), r"Computed output size"),
])
def test_input_rank_and_size_errors(make, shape, match):
    layer = make()
    with pytest.raises(ValueError, match=match):
        layer(np.zeros(shape, "float32"))
    assert not layer.built and layer.weights == []


def test_channels_changed_after_build():
    layer = SeparableConv1D(2, 2)
    layer(np.zeros((2, 10, 4)))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 4, but "
                                         r"received input with shape \(2, 10, 5\)"):
        layer(np.zeros((2, 10, 5)))
    layer = DepthwiseConv2D(2, data_format="channels_first")
    layer(np.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match="expected axis 1 of input shape to have value 3"):
        layer(np.zeros((1, 4, 4, 4)))
    with pytest.raises(ValueError, match="expected ndim=4"):
        layer(np.zeros((1, 3, 4, 4, 4)))
    with pytest.raises(ValueError, match="Computed output size would be zero"):
        layer(np.zeros((1, 3, 1, 4)))           # shorter input than the kernel after build


def test_compute_output_shape_errors_and_unknown_channels():
    layer = DepthwiseConv1D(3, depth_multiplier=2)
    with pytest.raises(ValueError, match="expected ndim=3"):
        layer.compute_output_shape((2, 10))
    assert layer.compute_output_shape((None, None, None)) == (None, None, None)
    assert layer.compute_output_shape((None, 10, 3)) == (None, 8, 6)
    with pytest.raises(ValueError, match="channel dimension"):
        layer.build((None, 10, None))


def test_set_weights_errors_are_atomic():
    layer = SeparableConv1D(2, 3)
    layer(np.zeros((1, 5, 2)))
    before = layer.get_weights()
    with pytest.raises(ValueError, match="expecting 3 weights"):
        layer.set_weights(before[:2])
    with pytest.raises(ValueError, match=r"weight shape \(2,\) is not compatible with "
                                         r"provided weight shape \(3,\)"):
        layer.set_weights([np.ones_like(before[0]), np.ones_like(before[1]), np.ones(3)])
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------
# With the rest of the framework: an optimizer step, a Sequential model
# ----------------------------------------------------------------------------------------

def test_sgd_step_applies_every_constraint_after_the_update():
    from minigrad import optimizers
    layer = SeparableConv1D(2, 2, depthwise_constraint="non_neg",
                            pointwise_constraint=constraints.MaxNorm(0.5),
                            bias_constraint="non_neg", bias_initializer="ones",
                            depthwise_initializer=mg.initializers.Constant(-1.0),
                            dtype="float64")
    x = np.random.default_rng(11).standard_normal((2, 5, 3))
    with mg.GradientTape() as tape:
        loss = layer(x).sum() * 100
    grads = tape.gradient(loss, layer.trainable_weights)
    optimizers.SGD(learning_rate=0.01).apply_gradients(zip(grads, layer.trainable_weights))
    dk, pk, b = layer.get_weights()
    assert (dk >= 0).all() and (b >= 0).all() and (np.abs(pk) <= 0.5 + 1e-6).all()


def test_sequential_with_input_shape_builds_at_once():
    model = mg.Sequential([SeparableConv2D(8, 3, activation="relu", input_shape=(8, 8, 1)),
                           DepthwiseConv2D(2, depth_multiplier=2)])
    assert all(layer.built for layer in model.layers)
    assert [layer.count_params() for layer in model.layers] == [25, 2 * 2 * 8 * 2 + 16]
    y = model(np.zeros((3, 8, 8, 1), "float32"))
    assert y.shape == (3, 5, 5, 16)


def test_conformance_matrix_of_section_11_5():
    """The full conformance matrix: rank x kind x k x s x d x padding x data_format x L, C=3, M=2,
    F=4, random bias; float64 outputs equal the reference. minigrad raises for s>1 with d>1
    (a documented deviation), and for exactly the valid cases with ek > L (output size <= 0)."""
    rng = np.random.default_rng(12)
    counts = {"matched": 0, "strides_with_dilation": 0, "output_size": 0}
    for rank, kind, k, s, d, padding, fmt, L in np.ndindex(2, 2, 4, 3, 2, 2, 2, 3):
        rank, k, s, d, L = rank + 1, k + 1, s + 1, d + 1, L + 5
        padding = ("valid", "same")[padding]
        fmt = ("channels_last", "channels_first")[fmt]
        ks = (k,) if rank == 1 else (k, max(1, k - 1))
        spatial = (L,) if rank == 1 else (L, L + 1)
        args = dict(kernel_size=ks, strides=s, padding=padding, data_format=fmt,
                    dilation_rate=d, depth_multiplier=2, dtype="float64")
        make = (lambda: DEPTHWISE[rank](**args)) if kind == 0 else \
            (lambda: SEPARABLE[rank](4, **args))
        if s > 1 and d > 1:
            with pytest.raises(ValueError, match="not supported in conjunction"):
                make()
            counts["strides_with_dilation"] += 1
            continue
        layer = make()
        shape = (2, 3) + spatial if fmt == "channels_first" else (2,) + spatial + (3,)
        x = rng.standard_normal(shape)
        if padding == "valid" and any(d * (kk - 1) + 1 > LL for kk, LL in zip(ks, spatial)):
            with pytest.raises(ValueError, match="Computed output size"):
                layer(x)
            counts["output_size"] += 1
            continue
        layer.build(shape)
        layer.set_weights(random_weights(layer, rng))
        y = layer(x).numpy()
        expected = reference(layer, x, layer.get_weights(), fmt == "channels_first")
        assert y.shape == expected.shape == layer.compute_output_shape(shape)
        np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)
        counts["matched"] += 1
    assert counts["strides_with_dilation"] == 2 * 2 * 4 * 2 * 1 * 2 * 2 * 3
    assert sum(counts.values()) == 1152 and counts["output_size"] > 0
