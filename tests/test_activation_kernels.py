"""The capped-ReLU kernels (``activation.pyx`` on ``activation.h``) against their twin.

The compiled loops vectorize, so lengths cross the vector widths; values are drawn around
both edges of the mask (0 and the cap, exactly on them too), with NaN and infinities, in
any shape and layout, and gradients include NaN and infinities. The results must equal the
twin's bit for bit: both compute the same comparisons, min/max and products on the same
numbers.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import _kernels
from minigrad.gradcheck import gradcheck
from minigrad.ops.nn import capped_relu

twin = _kernels.get_backend("numpy")
compiled = _kernels.compiled
pytestmark = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")

SHAPES = st.lists(st.integers(0, 9), min_size=1, max_size=4).map(tuple) | st.sampled_from(
    [(31,), (32,), (33,), (4, 8, 8, 16), (2, 3, 5, 7)])


def _values(rng, shape, dtype, cap):
    x = rng.uniform(-2, cap + 2, shape)
    if x.size:
        flat = x.reshape(-1)
        picks = rng.integers(0, flat.size, size=min(flat.size, 6))
        flat[picks] = rng.choice([0.0, -0.0, cap, np.nan, np.inf, -np.inf], size=len(picks))
    return x.astype(dtype)


@settings(max_examples=150, deadline=None)
@given(SHAPES, st.sampled_from([np.float32, np.float64]), st.sampled_from([0.0, 1.0, 6.0, 6.1]),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_capped_relu_kernels_equal_the_twin(shape, dtype, cap, transposed, seed):
    rng = np.random.default_rng(seed)
    x, g = _values(rng, shape, dtype, cap), rng.uniform(-1, 1, shape).astype(dtype)
    for value in (np.nan, np.inf, -np.inf)[:g.size]:    # in or out of the mask: same NaNs
        g.reshape(-1)[rng.integers(0, g.size)] = value
    if transposed:                                  # a non-contiguous view
        x, g = x.T, g.T
    y = compiled.capped_relu_forward(x, cap)
    want = twin.capped_relu_forward(x, cap)
    assert y.shape == want.shape and y.dtype == want.dtype
    np.testing.assert_array_equal(y, want)
    grad = compiled.capped_relu_backward(x, g, cap)
    with np.errstate(invalid="ignore"):              # 0 * inf outside the mask
        want = twin.capped_relu_backward(x, g, cap)
    assert grad.shape == want.shape and grad.dtype == want.dtype
    np.testing.assert_array_equal(grad, want)


@pytest.mark.parametrize("call, error, match", [
    (lambda x: compiled.capped_relu_forward(x.tolist(), 6.0), TypeError, "numpy.ndarray"),
    (lambda x: compiled.capped_relu_forward(x.astype(np.int32), 6.0), TypeError,
     "float32 or float64"),
    (lambda x: compiled.capped_relu_forward(x, -1.0), ValueError, "`cap` must be a number >= 0"),
    (lambda x: compiled.capped_relu_forward(x, float("nan")), ValueError, "`cap` must be"),
    (lambda x: compiled.capped_relu_forward(x, "6"), TypeError, "`cap` must be a number"),
    (lambda x: compiled.capped_relu_backward(x, x[:1], 6.0), ValueError, "`grad_y` must have"),
    (lambda x: compiled.capped_relu_backward(x, x.astype(np.float32), 6.0), TypeError,
     "share one dtype"),
])
def test_bad_arguments_raise_before_the_loop(call, error, match):
    with pytest.raises(error, match=match):
        call(np.ones((3, 4)))


def test_zero_d_input_and_scalar_gradient():
    """A 0-d input's gradient arrives as a NumPy scalar, which the op sends down the mask path."""
    x = mg.Variable(np.float32(3.0))
    with mg.GradientTape() as tape:
        y = capped_relu(x, 6.0) * 2.0
    assert float(tape.gradient(y, x).numpy()) == 2.0


@pytest.mark.parametrize("dtype", [np.float16, np.int32])
def test_other_dtypes_take_the_twin(dtype):
    x = np.array([-1, 2, 7], dtype)
    y = capped_relu(x, 6.0).numpy()
    assert y.dtype == dtype and y.tolist() == [0, 2, 6]


def test_gradient_passes_at_the_cap_as_relu_then_clip():
    x = mg.Variable(np.array([-1.0, 0.0, 3.0, 6.0, 7.0], np.float32))
    with mg.GradientTape() as tape:
        y = capped_relu(x, 6.0)
    assert tape.gradient(y, x).numpy().tolist() == [0.0, 0.0, 1.0, 1.0, 0.0]


def test_gradcheck_and_second_order_through_the_op():
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 8, (3, 4, 5))
    x[np.abs(x) < 0.1] += 0.3                        # away from the kinks
    x[np.abs(x - 6) < 0.1] += 0.3
    weights = rng.uniform(-1, 1, x.shape)
    gradcheck(lambda t: (capped_relu(t, 6.0) ** 2 * weights).sum(), [x])
    t = mg.Variable(x)
    with mg.GradientTape() as outer:
        with mg.GradientTape() as inner:
            y = (capped_relu(t, 6.0) ** 2 * weights).sum()
        grad = inner.gradient(y, t)
        z = (grad * grad).sum()
    mask = (x > 0) & (x <= 6)
    np.testing.assert_allclose(outer.gradient(z, t).numpy(), 8 * weights ** 2 * x * mask,
                               rtol=1e-10)
