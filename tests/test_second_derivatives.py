"""Second derivatives of every differentiable op and layer: the tape's gradient of a
gradient (an outer tape recording an inner tape's gradient computation) against central
differences of the tape's gradients, in float64 (``mg.gradgradcheck``); Hessian-vector
products against finite differences and their symmetry ``v.(H w) == w.(H v)``."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import ops

FAST = settings(max_examples=8, deadline=None)


def away_from_zero(rng, shape, low=0.3, high=1.5):
    """Non-uniform values whose magnitude stays away from kinks at 0."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


# ------------------------------------------------------------------------- arithmetic
@FAST
@given(shape=shapes, seed=st.integers(0, 2**31))
def test_binary_arithmetic_with_broadcasting(shape, seed):
    rng = np.random.default_rng(seed)
    a = away_from_zero(rng, shape)
    b = away_from_zero(rng, shape[-1:])                 # broadcast along the leading axes
    mg.gradgradcheck(lambda x, y: x * y + x / y - y * x * x, [a, b])
    mg.gradgradcheck(lambda x, y: ops.power(ops.abs(x) + 0.5, y) + ops.maximum(x, y)
                     * ops.minimum(x, y), [a, b])


@FAST
@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 3),
       seed=st.integers(0, 2**31))
def test_matmul_all_ranks(n, k, m, seed):
    rng = np.random.default_rng(seed)
    A, B, v = rng.normal(size=(2, n, k)), rng.normal(size=(k, m)), rng.normal(size=k)
    mg.gradgradcheck(lambda a, b: ops.tanh(a @ b), [A, B])
    mg.gradgradcheck(lambda a, u: ops.tanh(a @ u) * (u @ u), [A, v])


def test_elementwise_maths():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.4, 2.0, size=(3, 2))
    for fn in (ops.exp, ops.log, ops.sqrt, ops.square, ops.erf, ops.negative,
               lambda t: ops.clip(t, 0.5, 1.5) * t, lambda t: ops.abs(t - 1.0) * t,
               lambda t: ops.cast(t, "float64") * t):
        mg.gradgradcheck(lambda t: fn(t) * t, [x])


# ------------------------------------------------------------------------- reductions, shapes
@FAST
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=3).map(tuple),
       seed=st.integers(0, 2**31), keepdims=st.booleans())
def test_reductions(shape, seed, keepdims):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    axis = int(rng.integers(-len(shape), len(shape)))
    for reduce in (ops.sum, ops.mean, ops.max, ops.min):
        mg.gradgradcheck(lambda t: ops.tanh(reduce(t * t, axis=axis, keepdims=keepdims)) * 2
                         + reduce(t, None) ** 2, [x])


def test_shape_ops_indexing_pad_concatenate_stack_where():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 1, 4))
    cube = lambda t: t * t * t                                               # noqa: E731
    mg.gradgradcheck(lambda t: cube(ops.reshape(t, (4, 6))), [x])
    mg.gradgradcheck(lambda t: cube(ops.transpose(t, (2, 0, 1))), [x])
    mg.gradgradcheck(lambda t: cube(t.T), [x])
    mg.gradgradcheck(lambda t: cube(t[:, 1:, ::2]), [x])
    mg.gradgradcheck(lambda t: cube(t[[0, 1, 1], [2, 0, 2]]), [x])     # repeats add up
    mg.gradgradcheck(lambda t: cube(ops.pad(t, ((0, 1), (2, 0), (1, 1)))), [x])
    mg.gradgradcheck(lambda a, b: cube(ops.concatenate([a, b, a], axis=-2)), [x, y])
    mg.gradgradcheck(lambda a, b: cube(ops.stack([a, a * b], axis=1)), [x, y])
    mg.gradgradcheck(lambda a, b: cube(ops.where(x > 0, a, b)), [x, y])
    mg.gradgradcheck(lambda t: cube(ops.broadcast_to(t, (3, 2, 1, 4))), [y])


# ------------------------------------------------------------------------- activations
ACTIVATIONS = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softplus", "softsign",
               "swish", "elu", "selu", "gelu", "exponential", "hard_sigmoid", "softmax",
               "log_softmax", "mish", "log_sigmoid"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation(name):
    x = away_from_zero(np.random.default_rng(3), (2, 3), 0.2, 2.0)
    x[0, 0] = 4.5                                  # the far side of relu6 / hard_sigmoid
    fn = getattr(ops, name)
    # times x: the second derivative of a piecewise-linear function is 0, this is not.
    mg.gradgradcheck(lambda t: fn(t) * t, [x])


def test_gelu_approximate():
    x = np.random.default_rng(4).normal(size=(5,))
    mg.gradgradcheck(lambda t: ops.gelu(t, approximate=True), [x])


# ------------------------------------------------------------------------- helpers
def test_hessian_of_a_cubic_matches_the_formula():
    x = np.array([0.5, -1.0, 2.0])
    A = np.random.default_rng(5).normal(size=(3, 3))

    def f(t):
        return (t * t * t).sum() + (t @ (A @ t)) * 0.5
    H = mg.hessian(f, x).numpy()
    np.testing.assert_allclose(H, np.diag(6 * x) + (A + A.T) / 2, rtol=1e-12, atol=1e-12)


@FAST
@given(n=st.integers(2, 6), seed=st.integers(0, 2**31))
def test_hvp_is_symmetric_and_matches_finite_differences(n, seed):
    rng = np.random.default_rng(seed)
    x, v, w = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)

    def f(t):
        return ops.log_softmax(ops.tanh(t) * t).sum() * ops.sigmoid(t).mean()
    Hv, Hw = mg.hvp(f, x, v).numpy(), mg.hvp(f, x, w).numpy()
    np.testing.assert_allclose(v @ Hw, w @ Hv, rtol=1e-10, atol=1e-12)

    def grad(at):
        t = mg.Tensor(at)
        with mg.GradientTape() as tape:
            tape.watch(t)
            y = f(t)
        return tape.gradient(y, t).numpy()
    eps = 1e-6
    numeric = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(Hv, numeric, rtol=1e-5, atol=1e-7)
