"""minigrad.ops.math and minigrad.ops.elementwise: every op gradient-checked in float64 on
Hypothesis-drawn shapes, forward values against NumPy, dtype preservation, and the errors
bad arguments get (the reductions' and shape operations' own tests are in
test_ops_reductions.py and test_ops_shapes.py)."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import ops

from conftest import arrays, broadcast_pairs, gradcheck, shapes


# ------------------------------------------------------------------------- binary ops
# op, domain of a, domain of b (keyword arguments of ``arrays``).
ANY = {}
NONZERO = dict(avoid=(0.0,), gap=0.5)
POSITIVE = dict(lo=0.5, hi=2.0)
BINARY = {
    "add": (lambda a, b: a + b, ANY, ANY),
    "subtract": (lambda a, b: a - b, ANY, ANY),
    "multiply": (lambda a, b: a * b, ANY, ANY),
    "divide": (lambda a, b: a / b, ANY, NONZERO),
    "power": (lambda a, b: a ** b, POSITIVE, ANY),
    "maximum": (ops.maximum, ANY, ANY),
    "minimum": (ops.minimum, ANY, ANY),
    "ops.add": (ops.add, ANY, ANY),
    "ops.subtract": (ops.subtract, ANY, ANY),
    "ops.multiply": (ops.multiply, ANY, ANY),
    "ops.divide": (ops.divide, ANY, NONZERO),
    "ops.power": (ops.power, POSITIVE, ANY),
}
NUMPY_BINARY = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply,
                "divide": np.true_divide, "power": np.power, "maximum": np.maximum,
                "minimum": np.minimum}


def _no_ties(name, a, b):
    if name in ("maximum", "minimum"):
        assume(np.all(np.abs(np.subtract(a, b)) > 1e-3))


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_gradients_with_broadcasting(name, data):
    fn, dom_a, dom_b = BINARY[name]
    shape_a, shape_b = data.draw(broadcast_pairs())
    a, b = data.draw(arrays(shape_a, **dom_a)), data.draw(arrays(shape_b, **dom_b))
    _no_ties(name, a, b)
    gradcheck(fn, [a, b])
    out = fn(mg.Tensor(a), mg.Tensor(b))
    np.testing.assert_allclose(out.numpy(), NUMPY_BINARY[name.split(".")[-1]](a, b))
    assert out.shape == np.broadcast_shapes(shape_a, shape_b)


@pytest.mark.parametrize("name", sorted(k for k in BINARY if "." not in k))
@pytest.mark.parametrize("constant", ["python", "array"])
@pytest.mark.parametrize("tensor_side", ["left", "right"])
@given(data=st.data())
def test_binary_with_constants(name, constant, tensor_side, data):
    """Numbers and arrays mixed with a Tensor are constants: not tape inputs."""
    fn, dom_a, dom_b = BINARY[name]
    shape_t, shape_c = data.draw(broadcast_pairs())
    dom_t, dom_c = (dom_a, dom_b) if tensor_side == "left" else (dom_b, dom_a)
    t = data.draw(arrays(shape_t, **dom_t))
    c = data.draw(arrays(shape_c if constant == "array" else (), **dom_c))
    c = float(c) if constant == "python" else c
    _no_ties(name, t, c)

    def f(x):
        return fn(x, c) if tensor_side == "left" else fn(c, x)
    gradcheck(f, [t])
    x = mg.Tensor(t)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    entry, = list(tape)
    assert entry.inputs == (x,)
    expected = NUMPY_BINARY[name](t, c) if tensor_side == "left" else NUMPY_BINARY[name](c, t)
    np.testing.assert_allclose(y.numpy(), expected)


def test_python_int_constants_and_reflected_ops():
    x = mg.Tensor(np.array([1.0, 2.0, 4.0]))
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ys = [3 - x, 2 / x, 2 ** x, x ** 3, -x, +x, abs(-x), 3 * x + 1]
    expected = [-1, -2 / x.numpy() ** 2, np.log(2) * 2 ** x.numpy(), 3 * x.numpy() ** 2,
                -1, 1, 1, 3]
    for y, e in zip(ys, expected):
        np.testing.assert_allclose(tape.gradient(y, x), np.broadcast_to(e, (3,)))


def test_ndarray_on_the_left_defers_to_tensor():
    x = mg.Tensor(np.array([1.0, 2.0]))
    for y in (np.array([1.0, 1.0]) + x, np.array([2.0, 2.0]) * x, np.ones(2) - x,
              np.ones(2) / x, np.eye(2) @ x):
        assert isinstance(y, mg.Tensor)


def test_both_operands_constant_gives_unrecorded_tensor():
    with mg.GradientTape() as tape:
        y = ops.add(np.ones(2), 1.0)
    assert isinstance(y, mg.Tensor) and len(tape) == 0
    np.testing.assert_array_equal(y.numpy(), [2.0, 2.0])


def test_same_tensor_on_both_sides():
    x = mg.Tensor(np.array([1.0, -2.0, 3.0]))
    gradcheck(lambda t: t * t, [x])
    gradcheck(lambda t: t / (t + 5.0), [x])
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (x * x + x).sum()
    np.testing.assert_allclose(tape.gradient(y, x), 2 * x.numpy() + 1)


def test_power_gradient_of_nonpositive_base_exponent():
    """d(a^b)/db = a^b log a is taken as 0 where a <= 0 (no NaN from log)."""
    a = mg.Tensor(np.array([0.0, -2.0, 3.0]))
    b = mg.Tensor(np.array([2.0, 2.0, 2.0]))
    with mg.GradientTape() as tape:
        tape.watch([a, b])
        y = a ** b
    da, db = tape.gradient(y, [a, b])
    np.testing.assert_allclose(da, [0.0, -4.0, 6.0])
    np.testing.assert_allclose(db, [0.0, 0.0, 9 * np.log(3)])


# ------------------------------------------------------------------------- matmul
@given(data=st.data())
def test_matmul_gradients(data):
    """1-D operands, matrices and broadcast batch axes (NumPy's matmul signature)."""
    shape_a, shape_b = data.draw(hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=2, max_side=3)).input_shapes
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    gradcheck(lambda x, y: x @ y, [a, b])
    gradcheck(lambda x: x @ b, [a])
    gradcheck(lambda y: a @ y, [b])
    np.testing.assert_allclose((mg.Tensor(a) @ mg.Tensor(b)).numpy(), a @ b)


@pytest.mark.parametrize("shape_a, shape_b", [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
    ((3,), (2, 3, 4)), ((2, 2, 3), (3,)), ((2, 1, 2, 3), (3, 3, 2)), ((1, 2, 3), (2, 3, 2)),
])
def test_matmul_known_shapes(shape_a, shape_b):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    gradcheck(ops.matmul, [a, b])
    x, w = mg.Tensor(a), mg.Tensor(b)
    with mg.GradientTape() as tape:
        tape.watch([x, w])
        y = x @ w
    gx, gw = tape.gradient(y, [x, w])
    assert gx.shape == shape_a and gw.shape == shape_b


def test_matmul_2d_formula():
    rng = np.random.default_rng(2)
    a, b, seed = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    x, w = mg.Tensor(a), mg.Tensor(b)
    with mg.GradientTape() as tape:
        tape.watch([x, w])
        y = x @ w
    gx, gw = tape.gradient(y, [x, w], output_gradients=seed)
    np.testing.assert_allclose(gx, seed @ b.T)
    np.testing.assert_allclose(gw, a.T @ seed)


# ------------------------------------------------------------------------- elementwise
UNARY = {
    "exp": (ops.exp, np.exp, ANY),
    "log": (ops.log, np.log, dict(lo=0.2, hi=3.0)),
    "sqrt": (ops.sqrt, np.sqrt, dict(lo=0.2, hi=3.0)),
    "square": (ops.square, np.square, ANY),
    "abs": (ops.abs, np.abs, dict(avoid=(0.0,), gap=0.05)),
    "negative": (ops.negative, np.negative, ANY),
    "clip": (lambda t: ops.clip(t, -0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0),
             dict(avoid=(-0.5, 1.0), gap=0.05)),
    "method exp": (lambda t: t.exp(), np.exp, ANY),
    "method log": (lambda t: t.log(), np.log, dict(lo=0.2, hi=3.0)),
    "method sqrt": (lambda t: t.sqrt(), np.sqrt, dict(lo=0.2, hi=3.0)),
    "method abs": (lambda t: t.abs(), np.abs, dict(avoid=(0.0,), gap=0.05)),
    "method clip": (lambda t: t.clip(-0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0),
                    dict(avoid=(-0.5, 1.0), gap=0.05)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_elementwise_gradients(name, data):
    fn, reference, domain = UNARY[name]
    x = data.draw(arrays(data.draw(shapes()), **domain))
    gradcheck(fn, [x])
    np.testing.assert_allclose(fn(mg.Tensor(x)).numpy(), reference(x))


@given(data=st.data())
def test_where_gradients(data):
    shape_a, shape_b = data.draw(broadcast_pairs())
    shape_c = data.draw(st.sampled_from([shape_a, shape_b, np.broadcast_shapes(shape_a, shape_b)]))
    cond = data.draw(hnp.arrays(np.bool_, shape_c))
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    gradcheck(lambda x, y: ops.where(cond, x, y), [a, b])
    gradcheck(lambda x: ops.where(cond, x, 0.5), [a])
    gradcheck(lambda y: ops.where(mg.Tensor(cond), a, y), [b])
    np.testing.assert_array_equal(ops.where(cond, mg.Tensor(a), b).numpy(), np.where(cond, a, b))


def test_stop_gradient():
    x = mg.Tensor(np.array([1.0, 2.0]))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (ops.stop_gradient(x * 3) * x).sum()
    np.testing.assert_array_equal(tape.gradient(y, x), [3.0, 6.0])
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = ops.stop_gradient(x).sum()
    assert tape.gradient(y, x) is None


def test_unbroadcast():
    g = np.ones((2, 3, 4))
    assert ops.unbroadcast(g, (2, 3, 4)) is g
    np.testing.assert_array_equal(ops.unbroadcast(g, (4,)), np.full(4, 6.0))
    np.testing.assert_array_equal(ops.unbroadcast(g, (3, 1)), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(ops.unbroadcast(g, ()), 24.0)


# ------------------------------------------------------------------------- dtypes
# Every op as a function of float tensors (Python-number constants mixed in), with
# inputs in its domain.
DTYPE_CASES = {
    "add": (lambda a, b: a + b + 1, 2), "radd": (lambda a: 2.5 + a, 1),
    "subtract": (lambda a, b: a - b - 0.5, 2), "rsub": (lambda a: 1 - a, 1),
    "multiply": (lambda a, b: a * b * 3, 2), "rmul": (lambda a: 0.1 * a, 1),
    "divide": (lambda a, b: a / b / 2.0, 2), "rdiv": (lambda a: 1.0 / a, 1),
    "power": (lambda a, b: a ** b, 2), "pow_scalar": (lambda a: a ** 2.5, 1),
    "rpow": (lambda a: 2.0 ** a, 1), "negative": (lambda a: -a, 1),
    "matmul": (lambda a, b: a @ b, 2), "matmul_1d": (lambda a, b: a[0] @ b[:, 0], 2),
    "maximum": (lambda a, b: ops.maximum(a, b), 2), "minimum": (lambda a: ops.minimum(a, 0.5), 1),
    "sum": (lambda a: a.sum(axis=0), 1), "mean": (lambda a: a.mean(), 1),
    "max": (lambda a: a.max(axis=1, keepdims=True), 1), "min": (lambda a: a.min(), 1),
    "reshape": (lambda a: a.reshape(-1), 1), "transpose": (lambda a: a.T, 1),
    "getitem": (lambda a: a[0, [1, 1]], 1), "getitem_mask": (lambda a: a[a.numpy() > 1], 1),
    "pad": (lambda a: ops.pad(a, 1, constant_values=2.0), 1),
    "concatenate": (lambda a, b: ops.concatenate([a, b], axis=1), 2),
    "stack": (lambda a, b: ops.stack([a, b], axis=-1), 2),
    "exp": (ops.exp, 1), "log": (ops.log, 1), "sqrt": (ops.sqrt, 1), "square": (ops.square, 1),
    "abs": (ops.abs, 1), "clip": (lambda a: ops.clip(a, 1.2, 1.8), 1),
    "where": (lambda a, b: ops.where(a.numpy() > 1.5, a, b * 2.0), 2),
    "where_scalar": (lambda a: ops.where(a.numpy() > 1.5, a, 0.0), 1),
}


def dtype_flow(fn, arrays_, dtype):
    """Run ``fn`` on tensors of ``dtype``; return the output and every gradient dtype
    seen on the way back (each entry's grad_output and grad_inputs, then the results)."""
    tensors = [mg.Tensor(a.astype(dtype)) for a in arrays_]
    with mg.GradientTape() as tape:
        tape.watch(tensors)
        out = fn(*tensors)
    steps = tape.backward_steps(out, tensors)
    seen = set()
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            final = stop.value
            break
        seen.add(step.grad_output.dtype)
        seen.update(g.dtype for g in step.grad_inputs if g is not None)
    seen.update(g.dtype for g in final if g is not None)
    return out, seen


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(DTYPE_CASES))
def test_dtype_is_preserved_forward_and_backward(name, dtype):
    fn, n = DTYPE_CASES[name]
    rng = np.random.default_rng(4)
    inputs = [rng.uniform(1.0, 2.0, size=(2, 2)) for _ in range(n)]
    out, seen = dtype_flow(fn, inputs, dtype)
    assert out.dtype == dtype
    assert seen == {np.dtype(dtype)}


def test_mixed_float_dtypes_follow_numpy_and_gradients_keep_the_input_dtype():
    a = mg.Tensor(np.ones(3, dtype=np.float32))
    b = mg.Tensor(np.ones(3, dtype=np.float64))
    with mg.GradientTape(persistent=True) as tape:
        tape.watch([a, b])
        y = a * b
    assert y.dtype == np.float64                # NumPy's promotion
    step, = list(tape.backward_steps(y))
    assert [g.dtype for g in step.grad_inputs] == [np.float32, np.float64]
    ga, gb = tape.gradient(y, [a, b])
    assert ga.dtype == np.float32 and gb.dtype == np.float64


def test_float32_constant_array_keeps_float32():
    x = mg.Tensor(np.ones(3, dtype=np.float32))
    assert (x * np.float32(2)).dtype == np.float32
    assert (x + np.ones(3, dtype=np.float32)).dtype == np.float32
    assert (x * 2).dtype == np.float32 and (x * 2.0).dtype == np.float32
    assert (x * True).dtype == np.float32


def test_integers_are_kept_for_non_differentiable_use():
    i = mg.Tensor(np.array([3, 1, 2]))
    assert i.dtype.kind == "i"
    assert (i + 1).dtype.kind == "i" and (i * 2).dtype.kind == "i"
    assert i.sum().dtype.kind == "i" and i.max().numpy() == 3
    assert (i * 0.5).dtype == np.float64        # NumPy's promotion
    assert (i > 1).dtype == np.bool_
    x = mg.Tensor(np.array([10.0, 20.0, 30.0, 40.0]))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x[i].sum()                          # an integer tensor as an index
    np.testing.assert_array_equal(tape.gradient(y, x), [0, 1, 1, 1])
    b = mg.Tensor(np.array([True, False]))
    assert b.dtype == np.bool_


# ------------------------------------------------------------------------- errors
def test_broadcasting_mismatch_names_both_shapes():
    a, b = mg.Tensor(np.ones((2, 3))), mg.Tensor(np.ones((4,)))
    for fn in (lambda: a + b, lambda: a * b, lambda: ops.maximum(a, b),
               lambda: a - np.ones((2, 2)), lambda: ops.where(np.ones((2, 3), bool), a, b)):
        with pytest.raises(ValueError, match=r"\(2, 3\).*\((4|2, 2),?\)"):
            fn()


def test_other_numpy_value_errors_keep_their_message():
    with pytest.raises(ValueError, match="power: Integers to negative integer powers"):
        mg.Tensor(np.array([2])) ** -1


def test_matmul_errors():
    with pytest.raises(ValueError, match=r"inner dimensions.*\(2, 3\).*\(4, 2\)"):
        mg.Tensor(np.ones((2, 3))) @ mg.Tensor(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"inner dimensions.*\(3,\).*\(2,\)"):
        mg.Tensor(np.ones(3)) @ np.ones(2)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        ops.matmul(mg.Tensor(np.ones(3)), 2.0)
    with pytest.raises(ValueError, match=r"\(2, 2, 3\).*\(3, 3, 2\)"):
        mg.Tensor(np.ones((2, 2, 3))) @ mg.Tensor(np.ones((3, 3, 2)))


def test_reshape_impossible():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(6 elements\) into shape \(4,\)"):
        mg.Tensor(np.ones((2, 3))).reshape(4)


@pytest.mark.parametrize("call", [
    lambda x: x.sum(axis=2), lambda x: x.mean(axis=-3), lambda x: x.max(axis=(0, 5)),
    lambda x: ops.min(x, 1.5), lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 0),
    lambda x: ops.concatenate([x, x], axis=3), lambda x: ops.sum(x, axis="0"),
    lambda x: x.sum(axis=(1, -1)),
])
def test_bad_axis(call):
    with pytest.raises((ValueError, TypeError), match="axis|axes"):
        call(mg.Tensor(np.ones((2, 3))))


def test_other_argument_errors():
    x = mg.Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="pad_width must be non-negative"):
        ops.pad(x, -1)
    with pytest.raises(ValueError, match=r"pad_width must be .* per axis \(2 for shape"):
        ops.pad(x, [(1, 1)] * 3)
    with pytest.raises(ValueError, match="0-d"):
        ops.pad(mg.Tensor(1.0), 1)
    with pytest.raises(ValueError, match="min_value"):
        ops.clip(x, 2.0, 1.0)
    with pytest.raises(ValueError, match="same shape"):
        ops.stack([x, mg.Tensor(np.ones(3))])
    with pytest.raises(ValueError, match="at least one"):
        ops.concatenate([])
    with pytest.raises(ValueError, match=r"\(2, 3\), \(2, 2\)|shapes"):
        ops.concatenate([x, mg.Tensor(np.ones((2, 2)))], axis=0)
    with pytest.raises(ValueError, match="empty"):
        mg.Tensor(np.ones((0, 3))).max()
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[5]


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([object(), 1], dtype=object),
                                 "text", None, [1, "a"]])
def test_unsupported_dtypes_raise_type_error(bad):
    with pytest.raises(TypeError):
        mg.Tensor(bad)
    with pytest.raises(TypeError):
        mg.Tensor(np.ones(2)) + bad
    with pytest.raises(TypeError):
        ops.exp(bad)
