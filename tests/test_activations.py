"""Tests for minigrad.activations: values vs NumPy formulas, gradients, lookup, names."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special

import minigrad as mg
from minigrad import activations, ops

SUPPORTED = {
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "sigmoid",
    "hard_sigmoid", "hard_silu", "hard_swish", "silu", "swish", "tanh", "hard_tanh",
    "tanh_shrink", "softplus", "softsign", "squareplus", "sparse_plus", "sparse_sigmoid",
    "mish", "exponential", "log_sigmoid", "softmax", "log_softmax", "glu", "sparsemax",
    "hard_shrink", "soft_shrink", "threshold",
}

ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_sparsemax(x):
    """Projection onto the simplex along the last axis, by bisection on tau."""
    lo, hi = x.min(axis=-1, keepdims=True) - 1, x.max(axis=-1, keepdims=True)
    for _ in range(200):
        tau = (lo + hi) / 2
        too_big = np.maximum(x - tau, 0).sum(axis=-1, keepdims=True) > 1
        lo, hi = np.where(too_big, tau, lo), np.where(too_big, hi, tau)
    return np.maximum(x - (lo + hi) / 2, 0)


REFERENCE = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SCALE * np.where(x > 0, x, ALPHA * np.expm1(x)),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(x)),
    "gelu": lambda x: x * 0.5 * (1 + special.erf(x / np.sqrt(2))),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "sparse_sigmoid": lambda x: np.where(x <= -1, 0, np.where(x >= 1, 1, (x + 1) / 2)),
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "silu": lambda x: x / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "exponential": np.exp,
    "log_sigmoid": lambda x: -np.log1p(np.exp(-x)),
    "softmax": np_softmax,
    "log_softmax": lambda x: np.log(np_softmax(x)),
    "glu": lambda x: x[..., :2] / (1 + np.exp(-x[..., 2:])),
    "sparsemax": np_sparsemax,
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
}
REFERENCE["hard_swish"] = REFERENCE["hard_silu"]
REFERENCE["swish"] = REFERENCE["silu"]

# Kinks where finite differences are meaningless: keep gradcheck inputs away from them.
KINKS = {"relu": [0], "relu6": [0, 6], "leaky_relu": [0], "elu": [0], "selu": [0],
         "hard_sigmoid": [-3, 3], "hard_silu": [-3, 3], "hard_swish": [-3, 3],
         "sparse_sigmoid": [-1, 1], "hard_tanh": [-1, 1], "sparse_plus": [-1, 1],
         "hard_shrink": [-0.5, 0.5], "soft_shrink": [-0.5, 0.5], "celu": [0]}


def grid():
    return np.linspace(-7.5, 7.5, 4 * 31).reshape(31, 4)


def test_supported_names_exactly():
    assert set(activations.REGISTRY.names()) == SUPPORTED


@pytest.mark.parametrize("name", sorted(REFERENCE))
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-6)])
def test_values_match_numpy(name, dtype, tol):
    x = grid().astype(dtype)
    y = activations.get(name)(mg.Tensor(x))
    assert y.dtype == np.dtype(dtype)
    expected = REFERENCE[name](x.astype(np.float64))
    np.testing.assert_allclose(y.numpy(), expected, rtol=tol, atol=tol * 10)


def test_threshold_needs_its_arguments():
    x = grid()
    np.testing.assert_array_equal(activations.threshold(x, 1.0, -2.0).numpy(),
                                  np.where(x > 1.0, x, -2.0))
    with pytest.raises(TypeError):
        activations.get("threshold")(x)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_gradcheck(name):
    x = np.random.default_rng(1).uniform(-4, 4, size=(3, 4))
    for kink in KINKS.get(name, []):
        x = np.where(np.abs(x - kink) < 0.05, x + 0.1, x)
    fn = activations.get(name)
    mg.gradcheck(lambda t: fn(t), [x])


def test_gradcheck_of_arguments_and_threshold():
    x = np.array([[-2.3, -0.7, 0.4, 1.3], [2.2, -1.6, 3.4, 0.9]])
    mg.gradcheck(lambda t: activations.threshold(t, 0.5, 1.5), [x])
    mg.gradcheck(lambda t: activations.celu(t, alpha=2.0), [x])
    mg.gradcheck(lambda t: activations.squareplus(t, b=0.5), [x])
    mg.gradcheck(lambda t: activations.softmax(t, axis=0), [x])
    mg.gradcheck(lambda t: activations.glu(t, axis=0), [x])
    mg.gradcheck(lambda t: activations.sparsemax(t, axis=0), [x])
    mg.gradcheck(lambda t: activations.gelu(t, approximate=True), [x])
    mg.gradcheck(lambda t: activations.relu(t, negative_slope=0.1, max_value=3.0,
                                            threshold=0.2), [x])


# ------------------------------------------------------------------------ relu's options
def np_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's documented piecewise definition."""
    y = np.where(x > threshold, x, negative_slope * (x - threshold))
    if max_value is not None:
        y = np.where(x >= max_value, max_value, y)
    return y


@settings(max_examples=40, deadline=None)
@given(x=hnp.arrays(np.float64, (12,), elements=st.floats(-10, 10, width=64)),
       negative_slope=st.sampled_from([0.0, 0.1, 0.5]),
       max_value=st.sampled_from([None, 6, 2.5, 8.0]),
       threshold=st.sampled_from([0.0, 0.5, 2.0]))
def test_relu_options(x, negative_slope, max_value, threshold):
    got = activations.relu(x, negative_slope, max_value, threshold).numpy()
    np.testing.assert_allclose(got, np_relu(x, negative_slope, max_value, threshold),
                               rtol=1e-12, atol=1e-12)


def test_relu_option_validation():
    for kwargs, arg in [({"max_value": -1}, "max_value"), ({"negative_slope": -0.1},
                        "negative_slope"), ({"threshold": -1}, "threshold"),
                        ({"threshold": None}, "threshold")]:
        with pytest.raises(ValueError, match=f"`{arg}` must be a non-negative number"):
            activations.relu(np.ones(2), **kwargs)


def test_other_argument_errors():
    with pytest.raises(ValueError, match="must be even"):
        activations.glu(np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-zero"):
        activations.celu(np.ones(2), alpha=0)
    with pytest.raises(ValueError, match="`b` must be"):
        activations.squareplus(np.ones(2), b=-1)


def test_sparsemax_known_values():
    out = activations.sparsemax(np.array([[0.1, 1.2, 1.1], [0.0, 0.0, 0.0],
                                          [5.0, 0.0, -1.0]])).numpy()
    np.testing.assert_allclose(out, [[0, 0.55, 0.45], [1 / 3] * 3, [1, 0, 0]])
    np.testing.assert_allclose(out.sum(axis=-1), 1)


# ------------------------------------------------------------------------ lookup and names
def test_get():
    assert activations.get(None) is activations.linear
    assert activations.get("linear") is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    fn = lambda x: x * 2  # noqa: E731
    assert activations.get(fn) is fn
    assert activations.get(ops.tanh) is ops.tanh
    x = mg.Tensor(np.ones(3))
    assert activations.linear(x) is x


@pytest.mark.parametrize("bad", ["foo", "ReLU", 3, object()])
def test_get_unknown(bad):
    with pytest.raises(ValueError, match="Could not interpret activation function "
                                         "identifier") as info:
        activations.get(bad)
    assert "Valid names: " in str(info.value) and "sparse_plus" in str(info.value)


def test_serialize():
    assert activations.serialize(None) == "linear"
    for name in SUPPORTED:
        fn = activations.get(name)
        assert activations.get(activations.serialize(fn)) is fn
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(ops.relu) == "relu"
    assert activations.serialize(ops.swish) == "silu"

    def my_activation(x):
        return x
    assert activations.serialize(my_activation) == "my_activation"
    with pytest.raises(ValueError, match="Cannot serialize"):
        activations.serialize(object())


def test_tape_sees_composed_activations():
    x = mg.Tensor(np.array([-2.0, -0.5, 0.5, 2.0]))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = activations.sparse_plus(x).sum()
    np.testing.assert_allclose(tape.gradient(y, x), [0.0, 0.25, 0.75, 1.0])


# ------------------------------------------------ relu with a cap: one fused op (capped_relu)
def _relu_then_clip(t, max_value):
    """What activations.relu computed for a cap before the fused op: two recorded ops."""
    return mg.ops.clip(mg.ops.relu(t), 0.0, max_value)


@settings(max_examples=30, deadline=None)
@given(x=hnp.arrays(np.float64, (16,), elements=st.floats(-10, 10, width=64)),
       max_value=st.sampled_from([6, 2.5, 0.0, 8.0]), dtype=st.sampled_from(["float32",
                                                                              "float64"]))
def test_capped_relu_is_relu_then_clip_values_and_gradients(x, max_value, dtype):
    x = x.astype(dtype)
    x[:4] = [0.0, max_value, -max_value, max_value * 0.5]       # the kinks themselves
    up = np.linspace(-1, 2, x.size).astype(dtype)
    results = []
    for fn in (lambda t: activations.relu(t, max_value=max_value),
               lambda t: _relu_then_clip(t, max_value)):
        t = mg.Tensor(x)
        with mg.GradientTape() as tape:
            tape.watch(t)
            y = fn(t)
        results.append((y.numpy(), tape.gradient(y, t, output_gradients=up).numpy()))
    (y1, g1), (y2, g2) = results
    assert y1.dtype == g1.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)


def test_capped_relu_is_one_op_with_a_gradcheck_and_a_second_derivative():
    x = np.array([[-2.3, -0.7, 0.4, 1.3], [5.2, 6.6, 3.4, 7.9]])
    t = mg.Tensor(x)
    with mg.GradientTape() as tape:
        tape.watch(t)
        y = activations.relu(t, max_value=6.0)
    assert [e.op for e in tape] == ["capped_relu"]
    mg.gradcheck(lambda t: activations.relu(t, max_value=6.0), [x])
    # times x: the second derivative of a piecewise-linear function is 0, this is not.
    mg.gradgradcheck(lambda t: activations.relu(t, max_value=6.0) * t, [x])
