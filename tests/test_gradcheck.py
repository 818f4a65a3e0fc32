"""minigrad.gradcheck: passes on correct ops, catches wrong backward functions, and
reports where and by how much they are wrong."""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import ops
from minigrad.gradcheck import GradcheckReport, InputReport
from minigrad.tape import record


def wrong_cube(x):
    """x^3 with a wrong derivative at element 2: 3x^2 + 1 there, 3x^2 elsewhere."""
    x = ops.as_tensor(x)
    xd = x.data

    def backward(g):
        d = 3 * xd ** 2
        d.reshape(-1)[2] += 1.0
        return (g * d,)
    return record("wrong_cube", (x,), xd ** 3, backward)


def half_product(a, b):
    """a * b whose gradient for b is half of what it should be."""
    ad, bd = a.data, b.data
    return record("half_product", (a, b), ad * bd, lambda g: (g * bd, g * ad / 2))


def test_passes_on_correct_ops_and_reports_each_input():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3,))
    report = mg.gradcheck(lambda x, y: ops.tanh(x * y).sum(axis=0) @ y, [a, b])
    assert isinstance(report, GradcheckReport) and len(report) == 2
    for position, entry in enumerate(report):
        assert isinstance(entry, InputReport) and entry.position == position
        assert entry.max_abs_error < 1e-7
        assert entry.passed(1e-5, 1e-4)
    assert report[0].analytic.shape == (2, 3) and report[1].numeric.shape == (3,)
    assert "input 0: max abs error" in str(report) and "input 1" in str(report)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 8))
def test_catches_a_wrong_backward(seed, n):
    x = np.random.default_rng(seed).uniform(0.5, 2.0, size=n)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(wrong_cube, [x])
    message = str(info.value)
    assert "input 0" in message and f"shape ({n},)" in message
    assert "at index (2,)" in message
    analytic, numeric = map(float, re.search(
        r"the tape gives (\S+) but finite differences give (\S+) ", message).groups())
    # The projection weights scale both values alike; their difference is the error.
    assert abs((analytic - numeric) / numeric - 1 / (3 * x[2] ** 2)) < 1e-4


def test_names_the_input_that_is_wrong():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(1, 2, size=(2, 2)), rng.uniform(1, 2, size=(2, 2))
    with pytest.raises(mg.GradcheckError,
                       match=r"gradient mismatch for input 1 \(shape \(2, 2\)\)"):
        mg.gradcheck(half_product, [a, b])
    report = mg.gradcheck(half_product, [a, b], raise_exception=False)
    assert report[0].passed(1e-5, 1e-4) and not report[1].passed(1e-5, 1e-4)
    worst = report[1]
    assert len(worst.worst_index) == 2
    assert worst.analytic[worst.worst_index] == worst.analytic_at_worst
    assert worst.analytic_at_worst == pytest.approx(worst.numeric_at_worst / 2, rel=1e-6)
    assert worst.max_abs_error == pytest.approx(abs(worst.numeric_at_worst) / 2, rel=1e-6)
    assert worst.max_rel_error == pytest.approx(0.5, rel=1e-6)
    assert "worst index" in repr(worst)


def test_report_fields_on_a_known_error():
    """Gradient 1 instead of 0 at one element of a constant function."""
    def bad(x):
        xd = x.data

        def backward(g):
            d = np.zeros_like(g)
            d[1, 0] = 0.25
            return (d,)
        return record("bad", (x,), xd * 0, backward)
    report = mg.gradcheck(bad, [np.ones((2, 2))], raise_exception=False)
    entry, = report
    assert entry.worst_index == (1, 0)
    assert entry.numeric_at_worst == 0.0
    assert entry.max_abs_error == entry.analytic_at_worst > 0


def test_inputs_forms():
    x = np.array([1.0, 2.0], dtype=np.float32)
    # A single input need not be in a list; float32 inputs are checked in float64.
    seen = []

    def f(t):
        seen.append(t.dtype)
        return t * t
    report = mg.gradcheck(f, x)
    assert len(report) == 1 and set(seen) == {np.dtype(np.float64)}
    mg.gradcheck(f, [mg.Tensor(x)])
    with pytest.raises(TypeError, match="floating point, got dtype int64"):
        mg.gradcheck(f, [np.array([1, 2])])
    with pytest.raises(TypeError, match="must return a Tensor"):
        mg.gradcheck(lambda t: t.numpy(), [x])


def test_variables_are_checked_in_float64_and_restored():
    w = mg.Variable(np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32), name="w")
    before = w.data
    report = mg.gradcheck(lambda t, w_: ops.tanh(t @ w_), [np.array([0.3, -0.7]), w])
    assert len(report) == 2 and all(r.passed(1e-5, 1e-4) for r in report)
    assert w.data is before and w.dtype == np.float32


def test_a_variable_holding_a_non_contiguous_view_is_checked_correctly():
    w = mg.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    w.data = w.data.T                                      # float64, not C-contiguous
    view = w.data
    report = mg.gradcheck(lambda w_: (w_ * w_).sum(axis=0), [w])
    assert report[0].passed(1e-5, 1e-4) and np.abs(report[0].numeric).sum() > 0
    assert w.data is view


def test_closed_over_variables_of_a_model_like_function():
    w = mg.Variable(np.array([0.5, -1.5]))
    b = mg.Variable(np.array(0.25))
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    mg.gradcheck(lambda w_, b_: ops.sigmoid(mg.Tensor(x) @ w_ + b_), [w, b])


def test_tolerances_and_eps_are_used():
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(wrong_cube, [x], atol=0.0, rtol=1e-3)
    mg.gradcheck(wrong_cube, [x], atol=2.0, rtol=0.0)     # loose enough to let it pass
    mg.gradcheck(lambda t: t ** 3, [x], eps=1e-4, atol=1e-6)


# -- second derivatives, float32, transposed inputs ------------------------------------
def cube_with_a_dead_end_gradient(x):
    """x^3 whose gradient uses the forward pass's array instead of the input: right once,
    wrong the second time (the outer tape cannot see that 3 x^2 depends on x)."""
    x = ops.as_tensor(x)
    xd = x.data
    return record("dead_end_cube", (x,), xd ** 3,
                  gradient=lambda g, inputs, out: (3 * g * xd ** 2,))


def cube(x):
    x = ops.as_tensor(x)
    return record("cube", (x,), x.data ** 3,
                  gradient=lambda g, inputs, out: (3 * g * inputs[0] * inputs[0],))


def test_gradgradcheck_passes_a_twice_differentiable_op_and_catches_a_dead_end():
    x = np.array([0.5, -1.2, 2.0])
    mg.gradcheck(cube_with_a_dead_end_gradient, [x])              # first order is right
    mg.gradgradcheck(cube, [x])
    with pytest.raises(mg.GradcheckError, match=r"second-derivative mismatch for input 0 "
                       r"\(shape \(3,\)\): at index \(\d,\) the tape gives .* but finite "
                       r"differences give"):
        mg.gradgradcheck(cube_with_a_dead_end_gradient, [x])


def test_an_op_with_an_array_backward_is_differentiable_once_and_says_so():
    x = np.array([0.5, 1.5, 2.0, 3.0])
    mg.gradcheck(wrong_cube, [x], raise_exception=False)
    with pytest.raises(RuntimeError, match="'wrong_cube' was recorded with record\\(..., "
                                           "backward=fn\\).*only once"):
        mg.gradgradcheck(wrong_cube, [x])


def test_gradcheck_on_transposed_inputs():
    x = np.random.default_rng(0).random((3, 2)).T                 # not C-contiguous
    report = mg.gradcheck(lambda t: (t * t * t).sum(axis=0), [x])
    np.testing.assert_allclose(report[0].numeric, report[0].analytic, rtol=1e-6)
    assert np.abs(report[0].numeric).min() > 0
    v = mg.Variable(np.random.default_rng(1).random((3, 2)).T)
    mg.gradcheck(lambda t: (t * v).sum(), [x])
    mg.gradcheck(lambda w: (w * w).sum(), [v])
    assert not v.data.flags.c_contiguous                          # restored afterwards


def test_gradcheck_switches_float32_weights_to_float64_and_restores_them():
    from minigrad import layers
    dense = layers.Dense(3, activation="tanh", dtype="float64")
    x = np.random.default_rng(2).normal(size=(4, 5))
    dense(x)
    dense.kernel.assign(dense.kernel.data)
    dense.kernel.data = dense.kernel.data.astype(np.float32)       # a float32 weight
    mg.gradcheck(lambda t: dense(t), [x])
    mg.gradcheck(lambda w: dense(x), [dense.kernel])
    assert dense.kernel.dtype == np.float32
    mg.gradgradcheck(lambda t: dense(t) * t[:, :3], [x])


def test_gradcheck_explains_why_a_float32_layer_cannot_be_checked():
    from minigrad import layers
    dense = layers.Dense(2, dtype="float32", name="small")
    x = np.random.default_rng(3).normal(size=(3, 4))
    with pytest.raises(TypeError, match="runs in float64, but fn still computes in float32 "
                                        "at op #0 'cast'.*dtype='float64'"):
        mg.gradcheck(lambda t: dense(t), [x])
    assert dense.kernel.dtype == np.float32


def test_hvp_and_hessian_arguments():
    with pytest.raises(ValueError, match="v has shape \\(2,\\), expected x's shape \\(3,\\)"):
        mg.hvp(lambda t: t.sum(), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="scalar Tensor"):
        mg.hvp(lambda t: t * 2, np.ones(3), np.ones(3))
    np.testing.assert_array_equal(mg.hvp(lambda t: t.sum(), np.ones(3), np.ones(3)).numpy(),
                                  np.zeros(3))                   # linear: H = 0
    assert mg.hessian(lambda t: (t * t).sum(), np.ones((2, 2))).shape == (2, 2, 2, 2)
