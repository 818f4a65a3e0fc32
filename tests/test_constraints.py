"""Tests for minigrad.constraints: Keras's rows, the formulas, what axis means, lookup."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import constraints

EPS = 1e-7


def rand(shape, seed=0, dtype="float64", scale=2.0):
    return (scale * np.random.default_rng(seed).normal(size=shape)).astype(dtype)


def norms(w, axis):
    return np.sqrt((w.astype(np.float64) ** 2).sum(axis=axis, keepdims=True))


# ------------------------------------------------------------------------ Keras's constraints_test
def test_keras_max_norm_rows():
    # Columns [0,0,0], [1,0,0], [3,0,0], [3,3,3] of a (3, 4) weight; MaxNorm(2.0), axis 0.
    w = np.array([[0, 0, 0], [1, 0, 0], [3, 0, 0], [3, 3, 3]], dtype="float64").T
    out = constraints.MaxNorm(2.0)(w)
    expected = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0],
                         [2 / np.sqrt(3)] * 3]).T
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_keras_non_neg_unit_norm_min_max_norm():
    w = rand((10, 20), seed=1)
    assert constraints.NonNeg()(w).min() >= 0
    np.testing.assert_allclose(norms(constraints.UnitNorm()(w), 0), 1.0, atol=1e-6)
    n = norms(constraints.MinMaxNorm(0.2, 0.5)(w), 0)
    assert (n >= 0.2 - 1e-6).all() and (n <= 0.5 + 1e-6).all()
    with pytest.raises(ValueError):
        constraints.get("typo")


# ------------------------------------------------------------------------ exact formulas
axes = st.sampled_from([0, 1, -1, [0, 1], [1, 2], (0, 2)])


@settings(max_examples=40, deadline=None)
@given(w=hnp.arrays(np.float64, (3, 4, 2), elements=st.floats(-5, 5, width=64)),
       axis=axes, max_value=st.floats(0, 4), min_value=st.floats(0, 2),
       rate=st.floats(0, 1))
def test_formulas_match_numpy(w, axis, max_value, min_value, rate):
    ax = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    n = np.sqrt(np.sum(w * w, axis=ax, keepdims=True))
    np.testing.assert_allclose(constraints.MaxNorm(max_value, axis)(w),
                               w * np.clip(n, 0, max_value) / (EPS + n), rtol=1e-12, atol=1e-300)
    hi = min_value + 1.0
    desired = rate * np.clip(n, min_value, hi) + (1 - rate) * n
    np.testing.assert_allclose(constraints.MinMaxNorm(min_value, hi, rate, axis)(w),
                               w * desired / (EPS + n), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(constraints.UnitNorm(axis)(w), w / (EPS + n), rtol=1e-12)
    np.testing.assert_array_equal(constraints.NonNeg()(w), np.maximum(w, 0))


def test_epsilon_shrinks_vectors_already_inside_the_bound():
    assert constraints.MaxNorm(2)(np.array([-0.5]))[0] == pytest.approx(-0.5 * 0.5 / (0.5 + EPS),
                                                                         rel=1e-15)
    assert constraints.MaxNorm(2)(np.array([-0.5]))[0] > -0.5
    assert constraints.UnitNorm()(np.array([-0.5]))[0] == pytest.approx(-0.5 / (0.5 + EPS))
    np.testing.assert_array_equal(constraints.MaxNorm()(np.zeros((3, 2))), np.zeros((3, 2)))
    np.testing.assert_array_equal(constraints.UnitNorm()(np.zeros((3, 2))), np.zeros((3, 2)))


def test_min_max_norm_rate():
    w = np.array([[3.0], [4.0]])                   # norm 5
    half = constraints.MinMaxNorm(0.0, 1.0, rate=0.5)(w)
    np.testing.assert_allclose(half, w * 3.0 / (5 + EPS))          # 0.5*1 + 0.5*5 = 3
    grow = constraints.MinMaxNorm(10.0, 20.0)(w)
    np.testing.assert_allclose(norms(grow, 0), 10.0, rtol=1e-6)


def test_non_neg_keeps_nan_and_dtype():
    out = constraints.NonNeg()(np.array([-1.0, 2.0, np.nan], dtype="float32"))
    assert out.dtype == np.float32 and out[0] == 0 and out[1] == 2 and np.isnan(out[2])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", [constraints.MaxNorm(1.0), constraints.MinMaxNorm(0.5, 1.0),
                               constraints.UnitNorm(), constraints.NonNeg()])
def test_dtype_preserved_and_tensors_accepted(dtype, c):
    w = rand((4, 3), dtype=dtype)
    for arg in (w, mg.Tensor(w), mg.Variable(w)):
        out = c(arg)
        assert isinstance(out, np.ndarray) and out.dtype == np.dtype(dtype)
        assert out.shape == w.shape
    np.testing.assert_allclose(c(mg.Variable(w)), c(w))


# ------------------------------------------------------------------------ axis on the kernels
def test_axis_on_depthwise_1d_kernel_is_per_filter():
    k = rand((5, 3, 2), seed=2)                            # (k, C, M)
    out = constraints.MaxNorm(1.0)(k)
    np.testing.assert_allclose(norms(out, 0).squeeze(), np.minimum(norms(k, 0).squeeze(), 1),
                               rtol=1e-6)


def test_axis_on_depthwise_2d_kernel():
    k = rand((3, 3, 4, 2), seed=3, scale=3.0)              # (kh, kw, C, M), large norms
    per_column = constraints.MaxNorm(1.0)(k)               # default axis=0: over kh only
    assert (norms(per_column, 0) <= 1 + 1e-6).all()
    whole = norms(per_column, (0, 1))
    assert whole.max() > 1.5                               # whole filters reach sqrt(3)
    assert whole.max() <= np.sqrt(3) + 1e-6
    per_filter = constraints.MaxNorm(1.0, axis=[0, 1])(k)  # the natural per-filter norm
    assert (norms(per_filter, (0, 1)) <= 1 + 1e-6).all()
    np.testing.assert_allclose(norms(per_filter, (0, 1)), 1.0, rtol=1e-6)


def test_axis_on_pointwise_kernels():
    p2 = rand((1, 1, 8, 4), seed=4)                        # (1, 1, C*M, F)
    clipped = constraints.MaxNorm(0.5)(p2)                 # axis 0 has length 1: elementwise
    np.testing.assert_allclose(np.abs(clipped), np.minimum(np.abs(p2), 0.5) * np.abs(p2)
                               / (EPS + np.abs(p2)), rtol=1e-12)
    np.testing.assert_allclose(np.abs(constraints.UnitNorm()(p2)), np.abs(p2) / (EPS + np.abs(p2)))
    np.testing.assert_allclose(np.abs(constraints.UnitNorm()(p2)), 1.0, atol=1e-4)
    p1 = rand((1, 8, 4), seed=5)                           # (1, C*M, F)
    for axis in ([0, 1], -2):
        per_filter = constraints.UnitNorm(axis=axis)(p1)
        np.testing.assert_allclose(norms(per_filter, (0, 1)), 1.0, rtol=1e-6)


def test_axis_on_bias_is_whole_vector():
    b = np.array([3.0, 4.0])
    np.testing.assert_allclose(constraints.MaxNorm(1.0)(b), b / (5 + EPS))


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize("make, message", [
    (lambda: constraints.MaxNorm(-1), "`max_value` must be a non-negative number"),
    (lambda: constraints.MaxNorm("2"), "max_value='2'"),
    (lambda: constraints.MinMaxNorm(2.0, 1.0), "`min_value` must not exceed `max_value`"),
    (lambda: constraints.MinMaxNorm(rate=1.5), "`rate` must be between 0 and 1"),
    (lambda: constraints.MinMaxNorm(rate=-0.1), "`rate` must be a non-negative number"),
    (lambda: constraints.UnitNorm(axis=1.0), "`axis` must be an int or a non-empty list"),
    (lambda: constraints.UnitNorm(axis=[]), "axis=\\[\\]"),
    (lambda: constraints.MaxNorm(axis=None), "axis=None"),
])
def test_constructor_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_axis_checked_against_weight():
    with pytest.raises(ValueError, match=r"MaxNorm: axis 2 is out of range for a weight of "
                                         r"shape \(3, 4\)"):
        constraints.MaxNorm(axis=2)(np.ones((3, 4)))
    with pytest.raises(ValueError, match="repeats an axis"):
        constraints.UnitNorm(axis=[0, -2])(np.ones((3, 4)))


# ------------------------------------------------------------------------ lookup
@pytest.mark.parametrize("name, cls", [
    ("max_norm", constraints.MaxNorm), ("MaxNorm", constraints.MaxNorm),
    ("min_max_norm", constraints.MinMaxNorm), ("MinMaxNorm", constraints.MinMaxNorm),
    ("non_neg", constraints.NonNeg), ("NonNeg", constraints.NonNeg),
    ("unit_norm", constraints.UnitNorm), ("UnitNorm", constraints.UnitNorm),
])
def test_get_by_name(name, cls):
    assert type(constraints.get(name)) is cls


def test_get_other_identifiers_and_config():
    assert constraints.get(None) is None
    c = constraints.MaxNorm(3, axis=[0, 1])
    assert constraints.get(c) is c
    assert type(constraints.get(constraints.NonNeg)) is constraints.NonNeg
    fn = lambda w: np.clip(w, -1, 1)  # noqa: E731
    assert constraints.get(fn) is fn
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert constraints.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0,
                                                     "rate": 1.0, "axis": 0}
    again = constraints.get(constraints.serialize(c))
    assert type(again) is constraints.MaxNorm and again.get_config() == c.get_config()


@pytest.mark.parametrize("bad", ["typo", "maxnorm", 2, object(), float])
def test_get_unknown(bad):
    with pytest.raises(ValueError, match="Could not interpret constraint identifier") as info:
        constraints.get(bad)
    assert "max_norm" in str(info.value)


def test_plain_callables_serialize_to_themselves():
    def clip(w):
        return np.clip(w, -1, 1)
    assert constraints.get(constraints.serialize(clip)) is clip
