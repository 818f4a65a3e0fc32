"""minigrad.ops.reductions: sum, mean, max and min gradient-checked in float64 on
Hypothesis-drawn shapes and axes; ties share the gradient; mean divides by the count."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import ops

from conftest import arrays, gradcheck, shapes


@st.composite
def axes(draw, ndim):
    """None, one axis (negative allowed) or a tuple of distinct axes."""
    if ndim == 0:
        return None
    return draw(st.none() | st.integers(-ndim, ndim - 1) | hnp.valid_tuple_axes(ndim))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
@given(data=st.data())
def test_reduction_gradients(name, data):
    shape = data.draw(shapes())
    axis, keepdims = data.draw(axes(len(shape))), data.draw(st.booleans())
    x = data.draw(arrays(shape))
    if name in ("max", "min") and x.size > 1:     # keep away from ties
        assume(np.diff(np.sort(x, axis=None)).min() > 1e-4)
    method = lambda t: getattr(t, name)(axis=axis, keepdims=keepdims)  # noqa: E731
    function = lambda t: getattr(ops, name)(t, axis, keepdims)  # noqa: E731
    gradcheck(method, [x])
    gradcheck(function, [x])
    expected = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    out = method(mg.Tensor(x))
    np.testing.assert_allclose(out.numpy(), expected)
    assert out.shape == np.shape(expected)


@pytest.mark.parametrize("name, expected", [("max", [0, 0.5, 0.5, 0]), ("min", [0.5, 0, 0, 0.5])])
def test_max_min_ties_share_the_gradient(name, expected):
    x = mg.Tensor(np.array([1.0, 3.0, 3.0, 1.0]))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = getattr(x, name)()
    np.testing.assert_allclose(tape.gradient(y, x), expected)


def test_mean_divides_by_the_reduced_count():
    x = mg.Tensor(np.arange(24.0).reshape(2, 3, 4))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x.mean(axis=(0, -1))
    np.testing.assert_allclose(tape.gradient(y, x), np.full((2, 3, 4), 1 / 8))
