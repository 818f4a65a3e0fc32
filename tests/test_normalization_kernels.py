"""The batch-normalisation kernels (``normalization.pyx`` on ``normalization.h``) against
their twin.

The compiled passes vectorize over the columns, so the column counts drawn cross the
vector widths (4 doubles, 8 floats, and their multiples) and the row counts include a
single row. Inputs are drawn with a large mean beside a small spread, where computing the
variance as sum(x^2)/P - mean^2 would lose it to rounding. The twin (``numpy`` backend)
and the compiled kernels must agree on every output, in training (the batch's statistics)
and inference (given statistics), with and without gamma and beta, on contiguous and
strided inputs.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import _kernels, ops
from minigrad.gradcheck import gradcheck

twin = _kernels.get_backend("numpy")
compiled = _kernels.compiled
pytestmark = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")

COLUMNS = st.one_of(st.integers(1, 9), st.sampled_from([15, 16, 17, 24, 32, 33, 96, 144]))
ROWS = st.one_of(st.integers(1, 9), st.sampled_from([31, 64, 127, 500]))


def _problem(rng, P, C, dtype, strided):
    x = (rng.normal(0, 1, (P, C)) * rng.uniform(0.01, 3, C) + rng.uniform(-50, 50, C))
    g = rng.uniform(-1, 1, (P, C))
    if strided:                               # every other column of wider arrays
        wide = np.zeros((P, 2 * C)), np.zeros((P, 2 * C))
        wide[0][:, ::2], wide[1][:, ::2] = x, g
        x, g = wide[0][:, ::2], wide[1][:, ::2]
    return x.astype(dtype, copy=False), g.astype(dtype, copy=False)


def _close(got, want, dtype):
    """Equal to rounding, relative to the largest entry (float32 sums of hundreds of rows
    differ in their order: the twin's are BLAS's, in float32; the kernels' are in double)."""
    if want is None:
        assert got is None
        return
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = 1e-11 if dtype == np.float64 else 1e-3
    scale = np.abs(want).max() if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


@settings(max_examples=150, deadline=None)
@given(ROWS, COLUMNS, st.sampled_from([np.float32, np.float64]), st.booleans(),
       st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2**32 - 1))
def test_batch_norm_kernels_agree_with_twin(P, C, dtype, batch_stats, with_gamma, with_beta,
                                            strided, seed):
    rng = np.random.default_rng(seed)
    x, g = _problem(rng, P, C, dtype, strided)
    gamma = rng.uniform(0.5, 2, C).astype(dtype) if with_gamma else None
    beta = rng.uniform(-1, 1, C).astype(dtype) if with_beta else None
    stats = (None, None) if batch_stats else (
        rng.uniform(-50, 50, C).astype(dtype), rng.uniform(0.5, 2, C).astype(dtype))
    want = twin.batch_norm_forward(x, *stats, gamma, beta, 1e-3)
    got = compiled.batch_norm_forward(x, *stats, gamma, beta, 1e-3)
    for a, b in zip(got, want):                # y, mean, variance, inv_std
        _close(a, b, dtype)
    y, mean, _, inv_std = want
    want_grads = twin.batch_norm_backward(x, g, mean, inv_std, gamma, batch_stats, with_gamma,
                                          with_beta)
    got_grads = compiled.batch_norm_backward(x, g, mean, inv_std, gamma, batch_stats,
                                             with_gamma, with_beta)
    for a, b in zip(got_grads, want_grads):   # grad_x, grad_gamma, grad_beta
        _close(a, b, dtype)


def test_variance_of_a_column_far_from_zero_is_not_lost():
    """Two passes: the variance of 1e4 + small noise survives in float32."""
    rng = np.random.default_rng(0)
    x = (1e4 + rng.normal(0, 0.01, (4096, 8))).astype(np.float32)
    _, _, variance, _ = compiled.batch_norm_forward(x, None, None, None, None, 1e-3)
    exact = x.astype(np.float64).var(axis=0)
    np.testing.assert_allclose(variance, exact, rtol=0.05)


def test_results_are_bitwise_repeatable():
    rng = np.random.default_rng(1)
    x, g = _problem(rng, 333, 24, np.float32, False)
    first = compiled.batch_norm_forward(x, None, None, None, None, 1e-3)
    again = compiled.batch_norm_forward(x.copy(), None, None, None, None, 1e-3)
    for a, b in zip(first, again):
        assert np.array_equal(a, b)
    grads = compiled.batch_norm_backward(x, g, first[1], first[3], None, True, False, False)
    assert np.array_equal(grads[0], compiled.batch_norm_backward(
        x, g.copy(), first[1], first[3], None, True, False, False)[0])


@pytest.mark.parametrize("call, error, match", [
    (lambda x, v: compiled.batch_norm_forward(x.tolist(), None, None, None, None, 1e-3),
     TypeError, "`x` must be a numpy.ndarray"),
    (lambda x, v: compiled.batch_norm_forward(x.astype(np.int64), None, None, None, None, 1e-3),
     TypeError, "`x` must have dtype float32 or float64"),
    (lambda x, v: compiled.batch_norm_forward(x[0], None, None, None, None, 1e-3),
     ValueError, r"`x` must be a 2D array \(P, C\)"),
    (lambda x, v: compiled.batch_norm_forward(x, v, None, None, None, 1e-3),
     ValueError, "`mean` and `variance` must both be arrays"),
    (lambda x, v: compiled.batch_norm_forward(x, None, None, v[:2], None, 1e-3),
     ValueError, r"`gamma` must have shape \(3,\)"),
    (lambda x, v: compiled.batch_norm_backward(x, x[:2], v, v, None, True, False, False),
     ValueError, "`grad_y` must have x's shape"),
    (lambda x, v: compiled.batch_norm_backward(x, x.astype(np.float32), v, v, None, True,
                                               False, False),
     TypeError, "share one dtype"),
    (lambda x, v: compiled.batch_norm_backward(x, x, None, v, None, True, False, False),
     TypeError, "`mean` and `inv_std` must be arrays"),
])
def test_bad_arguments_raise_before_the_loops(call, error, match):
    x, v = np.ones((5, 3)), np.ones(3)
    with pytest.raises(error, match=match):
        call(x, v)


def test_empty_rows_follow_the_twin():
    x = np.ones((0, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        got = compiled.batch_norm_forward(x, None, None, None, None, 1e-3)
        want = twin.batch_norm_forward(x, None, None, None, None, 1e-3)
    assert got[0].shape == (0, 3)
    np.testing.assert_array_equal(np.isnan(got[1]), np.isnan(want[1]))


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_through_the_compiled_kernels(training):
    """The op's channels_last fast path runs on the compiled kernels (active backend)."""
    rng = np.random.default_rng(2)
    x = mg.Tensor(rng.normal(3, 2, (4, 3, 5)))
    gamma, beta = mg.Variable(rng.uniform(0.5, 2, 5)), mg.Variable(rng.uniform(-1, 1, 5))
    mean, variance = rng.uniform(-1, 1, 5), rng.uniform(0.5, 2, 5)
    weights = rng.uniform(-1, 1, (4, 3, 5))

    def f(x, gamma, beta):
        y = ops.batch_norm(x, mean, variance, gamma, beta, 1e-3, -1, training)[0]
        return (y * weights).sum()
    with ops.use_kernels("cython"):
        assert gradcheck(f, [x, gamma, beta])
