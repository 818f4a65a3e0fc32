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
