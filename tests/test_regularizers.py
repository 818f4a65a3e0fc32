"""Tests for minigrad.regularizers: formulas vs NumPy, dtypes, gradients, lookup, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import regularizers


def rand(shape, seed=0, dtype="float64"):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def np_orthogonal(x, factor=0.01, mode="rows", eps=1e-7):
    """Keras 3's penalty formulas (the module docstring of minigrad/regularizers.py), in float64."""
    x = np.asarray(x, dtype=np.float64)
    if mode == "columns":
        x = x.T
    norms = np.sqrt((x * x).sum(axis=1, keepdims=True))
    unit = x * np.minimum(1 / np.maximum(norms, 1e-300), 1 / eps)
    p = unit @ unit.T
    p = p - np.diag(np.diag(p))
    n = x.shape[0]
    return factor * 0.5 * np.abs(p).sum() / (n * (n - 1) / 2)


# ------------------------------------------------------------------------ formulas
finite = st.floats(-10, 10, allow_nan=False, width=64)


@settings(max_examples=30, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
                    elements=finite),
       l1=st.floats(0, 1), l2=st.floats(0, 1))
def test_l1_l2_l1l2_match_numpy(x, l1, l2):
    assert regularizers.L1(l1)(x).item() == pytest.approx(l1 * np.abs(x).sum(), rel=1e-12,
                                                          abs=1e-12)
    assert regularizers.L2(l2)(x).item() == pytest.approx(l2 * (x * x).sum(), rel=1e-12,
                                                          abs=1e-12)
    expected = l1 * np.abs(x).sum() + l2 * (x * x).sum()
    assert regularizers.L1L2(l1, l2)(x).item() == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_defaults():
    x = rand((3, 4))
    assert regularizers.L1()(x).item() == pytest.approx(0.01 * np.abs(x).sum())
    assert regularizers.L2()(x).item() == pytest.approx(0.01 * (x * x).sum())
    assert regularizers.L1(None).l1 == 0.01 and regularizers.L1L2(None, None).l2 == 0.0
    assert regularizers.L1L2()(x).item() == 0.0


def test_l1l2_skips_zero_terms():
    x = mg.Variable(rand((3,)))
    with mg.GradientTape() as tape:
        penalty = regularizers.L1L2(l1=0.0, l2=0.5)(x)
    assert [e.op for e in tape] == ["square", "sum", "multiply"]
    assert penalty.item() == pytest.approx(0.5 * (x.data ** 2).sum())
    zero = regularizers.L1L2()(x)
    assert zero.item() == 0.0 and zero.dtype == np.float64


@pytest.mark.parametrize("mode", ["rows", "columns"])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_orthogonal_regularizer_matches_formula(mode, shape):
    x = rand(shape, seed=1)
    got = regularizers.OrthogonalRegularizer(factor=0.3, mode=mode)(x).item()
    assert got == pytest.approx(np_orthogonal(x, 0.3, mode), rel=1e-12)


def test_orthogonal_regularizer_on_orthogonal_rows_is_zero_and_zero_rows_stay_zero():
    q, _ = np.linalg.qr(rand((4, 4)))
    assert regularizers.OrthogonalRegularizer()(q).item() == pytest.approx(0, abs=1e-15)
    x = rand((3, 3))
    x[1] = 0
    got = regularizers.OrthogonalRegularizer(factor=1.0)(x).item()
    assert np.isfinite(got) and got == pytest.approx(np_orthogonal(x, 1.0), rel=1e-12)


def test_orthogonal_regularizer_rank_checked_at_call_not_construction():
    reg = regularizers.OrthogonalRegularizer()
    with pytest.raises(ValueError, match=r"must have rank 2. Received: inputs.shape=\(3, 4, 2\)"):
        reg(rand((3, 4, 2)))


# ------------------------------------------------------------------------ dtypes
def test_float32_weights_give_float32_penalty_with_float32_coefficient():
    x = np.ones(10, dtype="float32")
    for reg in (regularizers.L1(0.01), regularizers.L2(0.01), regularizers.L1L2(0.01, 0.01),
                regularizers.OrthogonalRegularizer()):
        arg = x.reshape(2, 5) if isinstance(reg, regularizers.OrthogonalRegularizer) else x
        assert reg(arg).dtype == np.float32
    # The coefficient is the float32 0.01 (0.009999999776...), times a float32 sum.
    assert regularizers.L1(0.01)(x).item() == np.float32(10) * np.float32(0.01)
    assert regularizers.L2(0.01)(mg.Tensor(x)).item() == np.float32(10) * np.float32(0.01)
    # float64 weights use the coefficient as given (documented deviation for L1).
    assert regularizers.L1(0.01)(np.ones(10)).item() == pytest.approx(0.1, abs=1e-17)
    assert regularizers.L2(0.01)(np.ones(10)).item() == pytest.approx(0.1, abs=1e-17)


def test_integer_input_becomes_floatx():
    assert regularizers.L2(1)(np.arange(3)).dtype == np.float32
    assert regularizers.L2(1)(np.arange(3)).item() == 5.0


# ------------------------------------------------------------------------ gradients
def away_from_zero(shape, seed):
    x = rand(shape, seed)
    return x + 0.3 * np.sign(x)                 # |x| >= 0.3: no kink of |x| nearby


@pytest.mark.parametrize("reg", [
    regularizers.L1(0.3), regularizers.L2(0.7), regularizers.L1L2(0.2, 0.4),
    regularizers.get("l1_l2"), regularizers.OrthogonalRegularizer(0.5),
    regularizers.OrthogonalRegularizer(0.5, mode="columns"),
])
@pytest.mark.parametrize("shape", [(3, 4), (4, 4)])
def test_gradcheck(reg, shape):
    mg.gradcheck(lambda w: reg(w), [away_from_zero(shape, 3)])


def test_penalty_gradient_reaches_a_variable():
    w = mg.Variable(rand((2, 3)).astype("float32"))
    with mg.GradientTape() as tape:
        loss = regularizers.L2(0.5)(w)
    grad = tape.gradient(loss, w)
    np.testing.assert_allclose(grad, w.data, rtol=1e-6)            # d(0.5 w^2)/dw = w
    assert grad.dtype == np.float32


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize("make, arg, value", [
    (regularizers.L1, "l1", -1.0), (regularizers.L2, "l2", float("nan")),
    (regularizers.L2, "l2", float("inf")), (regularizers.L1, "l1", "0.1"),
    (regularizers.L1, "l1", True), (regularizers.OrthogonalRegularizer, "factor", -0.5),
])
def test_coefficient_validation(make, arg, value):
    with pytest.raises(ValueError, match=f"Invalid value for argument {arg}: expected a "
                                         f"non-negative float. Received: {arg}="):
        make(value)
    if arg in ("l1", "l2"):
        with pytest.raises(ValueError, match=f"argument {arg}"):
            regularizers.L1L2(**{arg: value})


def test_coefficients_accept_zero_and_ints():
    assert regularizers.L2(0)(rand(3)).item() == 0.0
    assert regularizers.L1(2).l1 == 2.0 and isinstance(regularizers.L1(2).l1, float)


def test_orthogonal_mode_validation():
    with pytest.raises(ValueError, match=r"Expected one of \{'rows', 'columns'\}. "
                                         r"Received: mode='cols'"):
        regularizers.OrthogonalRegularizer(mode="cols")


# ------------------------------------------------------------------------ lookup
@pytest.mark.parametrize("name, cls, coefficients", [
    ("l1", regularizers.L1, {"l1": 0.01}),
    ("L1", regularizers.L1, {"l1": 0.01}),
    ("l2", regularizers.L2, {"l2": 0.01}),
    ("L2", regularizers.L2, {"l2": 0.01}),
    ("l1l2", regularizers.L1L2, {"l1": 0.0, "l2": 0.0}),           # Keras 3: zero penalty
    ("L1L2", regularizers.L1L2, {"l1": 0.0, "l2": 0.0}),
    ("l1_l2", regularizers.L1L2, {"l1": 0.01, "l2": 0.01}),        # tf.keras meaning (regularizers.py docstring)
    ("orthogonal_regularizer", regularizers.OrthogonalRegularizer,
     {"factor": 0.01, "mode": "rows"}),
    ("OrthogonalRegularizer", regularizers.OrthogonalRegularizer,
     {"factor": 0.01, "mode": "rows"}),
])
def test_get_by_name(name, cls, coefficients):
    reg = regularizers.get(name)
    assert type(reg) is cls and reg.get_config() == coefficients


def test_l1_l2_function_and_aliases():
    assert regularizers.l1_l2().get_config() == {"l1": 0.01, "l2": 0.01}
    assert regularizers.l1_l2(l2=0.5).get_config() == {"l1": 0.01, "l2": 0.5}
    assert regularizers.l1 is regularizers.L1 and regularizers.l2 is regularizers.L2


def test_get_other_identifiers():
    assert regularizers.get(None) is None
    reg = regularizers.L2(0.3)
    assert regularizers.get(reg) is reg
    assert type(regularizers.get(regularizers.L1)) is regularizers.L1
    fn = lambda w: (w * w).sum()  # noqa: E731
    assert regularizers.get(fn) is fn
    again = regularizers.get(regularizers.serialize(regularizers.L1L2(0.1, 0.2)))
    assert again.get_config() == {"l1": 0.1, "l2": 0.2}
    assert regularizers.OrthogonalRegularizer.from_config(
        {"factor": 0.2, "mode": "columns"}).mode == "columns"


@pytest.mark.parametrize("bad", ["l3", "L1_L2", 0.01, int, object()])
def test_get_unknown(bad):
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier") as info:
        regularizers.get(bad)
    assert "Valid names: " in str(info.value) and "l1_l2" in str(info.value)


def test_plain_callables_serialize_to_themselves():
    def penalty(w):
        return (w * w).sum()
    assert regularizers.serialize(penalty) is penalty
    assert regularizers.get(regularizers.serialize(penalty)) is penalty
    assert regularizers.serialize(None) is None
