"""minigrad.ops.nn: every activation gradient-checked in float64 away from its kinks,
known values from the formulas, and float32 kept forward and backward."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special

import minigrad as mg
from minigrad import ops


@st.composite
def arrays(draw, lo=-3.0, hi=3.0, avoid=(), gap=0.05, min_dims=0):
    """Non-uniform float64 values on a drawn shape, kept ``gap`` away from ``avoid``."""
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, max_side=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(lo, hi, size=shape)
    for p in avoid:
        x = np.where(np.abs(x - p) < gap, p + np.where(x >= p, gap, -gap), x)
    return x


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# name: (function, reference formula, points to keep away from, range)
ACTIVATIONS = {
    "relu": (ops.relu, lambda x: np.maximum(x, 0), (0.0,), 3.0),
    "relu6": (ops.relu6, lambda x: np.clip(x, 0, 6), (0.0, 6.0), 8.0),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), (0.0,), 3.0),
    "leaky_relu(0.5)": (lambda t: ops.leaky_relu(t, 0.5), lambda x: np.where(x > 0, x, 0.5 * x),
                        (0.0,), 3.0),
    "sigmoid": (ops.sigmoid, _sigmoid, (), 6.0),
    "tanh": (ops.tanh, np.tanh, (), 3.0),
    "softplus": (ops.softplus, lambda x: np.log1p(np.exp(x)), (), 6.0),
    "softsign": (ops.softsign, lambda x: x / (1 + np.abs(x)), (0.0,), 3.0),
    "swish": (ops.swish, lambda x: x * _sigmoid(x), (), 4.0),
    "silu": (ops.silu, lambda x: x * _sigmoid(x), (), 4.0),
    "elu": (ops.elu, _elu, (0.0,), 3.0),
    "elu(0.5)": (lambda t: ops.elu(t, 0.5), lambda x: _elu(x, 0.5), (0.0,), 3.0),
    "selu": (ops.selu, lambda x: _SELU_SCALE * _elu(x, _SELU_ALPHA), (0.0,), 3.0),
    "gelu": (ops.gelu, lambda x: x * 0.5 * (1 + special.erf(x / math.sqrt(2))), (), 4.0),
    "gelu(approximate)": (
        lambda t: ops.gelu(t, approximate=True),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
        (), 4.0),
    "exponential": (ops.exponential, np.exp, (), 2.0),
    "hard_sigmoid": (ops.hard_sigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), (-3.0, 3.0), 5.0),
    "mish": (ops.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), (), 4.0),
    "log_sigmoid": (ops.log_sigmoid, lambda x: np.log(_sigmoid(x)), (), 6.0),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(data=st.data())
def test_activation_gradients_and_values(name, data):
    fn, reference, avoid, bound = ACTIVATIONS[name]
    x = data.draw(arrays(-bound, bound, avoid=avoid))
    mg.gradcheck(fn, [x])
    np.testing.assert_allclose(fn(mg.Tensor(x)).numpy(), reference(x), rtol=1e-12, atol=1e-12)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_gradients_on_any_axis(name, data):
    x = data.draw(arrays(-4.0, 4.0, min_dims=1))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    fn = getattr(ops, name)
    mg.gradcheck(lambda t: fn(t, axis=axis), [x])
    expected = _softmax(x, axis)
    expected = np.log(expected) if name == "log_softmax" else expected
    np.testing.assert_allclose(fn(mg.Tensor(x), axis=axis).numpy(), expected,
                               rtol=1e-10, atol=1e-12)


def test_softmax_rows_sum_to_one_and_survive_large_logits():
    x = mg.Tensor(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]]))
    s = ops.softmax(x).numpy()
    np.testing.assert_allclose(s.sum(axis=-1), 1.0)
    assert np.all(np.isfinite(ops.log_softmax(x).numpy()))
    np.testing.assert_allclose(ops.softmax(x, axis=0).numpy().sum(axis=0), 1.0)


def test_known_values():
    x = mg.Tensor(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0]))
    np.testing.assert_allclose(ops.sigmoid(x).numpy(), [0, _sigmoid(-1.0), 0.5, _sigmoid(1.0), 1])
    np.testing.assert_allclose(ops.softplus(x).numpy(), [0, np.log1p(np.e ** -1), np.log(2),
                                                         np.log1p(np.e), 1000])
    np.testing.assert_allclose(ops.log_sigmoid(x).numpy()[[0, 2, 4]], [-1000, -np.log(2), 0])
    np.testing.assert_allclose(ops.relu6(mg.Tensor(np.array([-1.0, 3.0, 7.0]))).numpy(), [0, 3, 6])
    np.testing.assert_allclose(ops.hard_sigmoid(mg.Tensor(np.array([-4.0, 0.0, 1.5, 4.0]))).numpy(),
                               [0, 0.5, 0.75, 1])
    np.testing.assert_allclose(ops.gelu(mg.Tensor(np.array([0.0, 1.0]))).numpy(),
                               [0.0, 0.8413447460685429])
    assert ops.silu is ops.swish


def test_derivatives_at_known_points():
    x = mg.Tensor(np.array([-2.0, 0.5, 7.0]))
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ys = {"relu": ops.relu(x), "relu6": ops.relu6(x), "leaky": ops.leaky_relu(x, 0.1),
              "elu": ops.elu(x), "sigmoid": ops.sigmoid(x)}
    np.testing.assert_allclose(tape.gradient(ys["relu"], x), [0, 1, 1])
    np.testing.assert_allclose(tape.gradient(ys["relu6"], x), [0, 1, 0])
    np.testing.assert_allclose(tape.gradient(ys["leaky"], x), [0.1, 1, 1])
    np.testing.assert_allclose(tape.gradient(ys["elu"], x), [np.exp(-2.0), 1, 1])
    s = _sigmoid(x.numpy())
    np.testing.assert_allclose(tape.gradient(ys["sigmoid"], x), s * (1 - s))


def test_activations_accept_arrays_and_numbers():
    np.testing.assert_allclose(ops.relu(np.array([-1.0, 2.0])).numpy(), [0.0, 2.0])
    assert ops.tanh(0.0).numpy() == 0.0


ALL = {**ACTIVATIONS, "softmax": (ops.softmax, None, (), 3.0),
       "softmax(axis=0)": (lambda t: ops.softmax(t, axis=0), None, (), 3.0),
       "log_softmax": (ops.log_softmax, None, (), 3.0)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ALL))
def test_dtype_is_preserved_forward_and_backward(name, dtype):
    fn = ALL[name][0]
    x = mg.Tensor(np.array([[-2.5, -0.3, 0.4], [1.7, 4.0, 7.5]], dtype=dtype))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    assert y.dtype == dtype
    steps = list(tape.backward_steps(y))
    assert all(s.grad_inputs[0].dtype == dtype for s in steps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_softmax_cross_entropy_is_bitwise_log_softmax_then_pick(dtype):
    # The fused op behind SparseCategoricalCrossentropy(from_logits=True) against the four
    # ops it replaces (log_softmax, one-hot product, sum, negation): loss and gradient equal.
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 7, (5, 4))
    onehot = (labels[..., None] == np.arange(7)).astype(dtype)
    x0 = rng.standard_normal((5, 4, 7)).astype(dtype) * 8
    up = np.linspace(-1, 2, 20).reshape(5, 4).astype(dtype)
    results = []
    for fused in (True, False):
        x = mg.Variable(x0)
        with mg.GradientTape() as tape:
            loss = (ops.sparse_softmax_cross_entropy_with_logits(labels, x) if fused else
                    -ops.sum(ops.log_softmax(x) * onehot, axis=-1))
        results.append((loss.numpy(), tape.gradient(loss, x, output_gradients=up).numpy()))
    (l1, g1), (l2, g2) = results
    assert l1.dtype == dtype and l1.shape == (5, 4)
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(g1, g2)


def test_sparse_softmax_cross_entropy_differentiates_twice():
    x = mg.Tensor(np.random.default_rng(4).standard_normal((3, 5)))
    labels = np.array([0, 4, 2])
    mg.gradcheck(lambda t: ops.sparse_softmax_cross_entropy_with_logits(labels, t), [x])
    mg.gradgradcheck(lambda t: ops.sparse_softmax_cross_entropy_with_logits(labels, t), [x])
