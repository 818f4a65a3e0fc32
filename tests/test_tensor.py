"""minigrad.tensor: Tensor and Variable basics, dtypes, operators and their errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.tensor import as_tensor


# ------------------------------------------------------------------------- Tensor
@pytest.mark.parametrize("value, dtype", [
    (np.zeros(3, dtype=np.float32), np.float32), (np.zeros(3), np.float64),
    (np.zeros(3, dtype=np.int32), np.int32), (np.zeros(3, dtype=np.int64), np.int64),
    (np.zeros(3, dtype=bool), np.bool_), (np.zeros(3, dtype=np.uint8), np.uint8),
    (1.5, np.float64), ([1.0, 2.0], np.float64), (3, np.int64), (True, np.bool_),
    (np.float32(2.0), np.float32),
])
def test_dtype_is_kept(value, dtype):
    assert mg.Tensor(value).dtype == dtype


@given(hnp.arrays(st.sampled_from([np.float32, np.float64, np.int32]),
                  hnp.array_shapes(min_dims=0, max_dims=3)))
def test_basics_mirror_the_array(arr):
    t = mg.Tensor(arr)
    assert t.shape == arr.shape and t.ndim == arr.ndim and t.size == arr.size
    assert t.dtype == arr.dtype
    assert t.numpy() is t.data
    np.testing.assert_array_equal(np.asarray(t), arr)
    if arr.ndim:
        assert len(t) == len(arr)


def test_explicit_dtype_and_wrapping_a_tensor():
    t = mg.Tensor([1, 2], dtype="float32")
    assert t.dtype == np.float32
    u = mg.Tensor(t)
    assert u.data is t.data and u is not t
    assert mg.Tensor(t, dtype="float64").dtype == np.float64


def test_scalar_conversions_and_repr():
    t = mg.Tensor(2.5, name="half")
    assert t.item() == 2.5 and float(t) == 2.5 and bool(t)
    assert repr(t) == "Tensor(2.5, dtype=float64, name='half')"
    assert repr(mg.Tensor(np.array([1.0, 2.0], dtype=np.float32))) == \
        "Tensor([1., 2.], dtype=float32)"
    assert np.asarray(mg.Tensor([1, 2]), dtype=np.float32).dtype == np.float32


def test_operators_return_tensors():
    x = mg.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    for y in (x + 1, 1 + x, x - 1, 1 - x, x * 2, 2 * x, x / 2, 2 / x, x @ x, x ** 2, 2 ** x,
              -x, abs(x), x[0], x.T, x.sum(), x.mean(), x.max(), x.min(), x.reshape(4),
              x.reshape((4, 1)), x.transpose(), x.transpose(1, 0), x.transpose((1, 0)), x.exp(),
              x.log(), x.sqrt(), x.abs(), x.clip(1.5, 3.5), x.astype("float32")):
        assert isinstance(y, mg.Tensor)
    assert +x is x
    np.testing.assert_array_equal((x @ x).numpy(), x.numpy() @ x.numpy())
    np.testing.assert_array_equal(x.T.numpy(), x.numpy().T)


def test_comparisons_give_boolean_tensors_without_gradient():
    x = mg.Tensor(np.array([1.0, 2.0, 3.0]))
    with mg.GradientTape() as tape:
        tape.watch(x)
        masks = [x < 2, x <= 2, x > 2, x >= 2, x > mg.Tensor(1.5)]
    assert all(m.dtype == np.bool_ for m in masks) and len(tape) == 0
    assert masks[0].numpy().tolist() == [True, False, False]
    assert masks[3].numpy().tolist() == [False, True, True]


def test_tensors_hash_by_identity():
    a, b = mg.Tensor([1.0]), mg.Tensor([1.0])
    assert len({a, b}) == 2


@pytest.mark.parametrize("bad", [np.array(["a"]), np.array([None], dtype=object), "abc",
                                 None, {"a": 1}, [[1.0, 2.0], [3.0]], 1 + 2j])
def test_unsupported_values_raise(bad):
    with pytest.raises((TypeError, ValueError), match="Tensor|dtype"):
        mg.Tensor(bad)


def test_unsupported_dtypes_are_type_errors():
    for bad in (np.array(["a"]), np.array([object()]), np.array([1 + 1j])):
        with pytest.raises(TypeError, match="dtype|objects"):
            mg.Tensor(bad)
    with pytest.raises(TypeError, match="objects"):
        mg.Tensor([1.0], dtype=object)
    with pytest.raises(TypeError, match="objects"):
        mg.Variable(np.array([object()]))


def test_as_tensor():
    t = mg.Tensor([1.0])
    assert as_tensor(t) is t
    assert as_tensor([1, 2]).dtype == np.int64
    assert as_tensor([1, 2], dtype="float32").dtype == np.float32
    with pytest.raises(TypeError, match="float32 tensor, got float64"):
        as_tensor(t, dtype="float32")


# ------------------------------------------------------------------------- Variable
def test_variable_basics():
    source = np.array([1.0, 2.0], dtype=np.float32)
    v = mg.Variable(source, name="w")
    assert v.trainable and v.name == "w" and v.dtype == np.float32
    assert isinstance(v, mg.Tensor)
    assert not np.shares_memory(v.data, source)            # owns its buffer
    source[0] = 99
    assert v.numpy()[0] == 1.0
    assert v.constraint is None and v.regularizer is None
    assert repr(v) == "Variable([1., 2.], dtype=float32, name='w', trainable=True)"


def test_assign_replaces_the_value_keeping_dtype():
    v = mg.Variable(np.zeros(3, dtype=np.float32))
    x = mg.Tensor(np.ones(3))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = v * x
    old = v.data
    assert v.assign(np.array([1.0, 2.0, 3.0])) is v
    assert v.dtype == np.float32 and v.numpy().tolist() == [1.0, 2.0, 3.0]
    assert old.tolist() == [0.0, 0.0, 0.0]                  # recorded values unchanged
    np.testing.assert_array_equal(tape.gradient(y, x), [0.0, 0.0, 0.0])
    v.assign_add([1.0, 1.0, 1.0])
    v.assign_sub(mg.Tensor([0.5, 0.5, 0.5]))
    assert v.numpy().tolist() == [1.5, 2.5, 3.5]


def test_assign_with_wrong_shape_raises_and_keeps_the_value():
    v = mg.Variable(np.array([1.0, 2.0]), name="w")
    with pytest.raises(ValueError, match=r"shape \(3,\) to variable 'w' of shape \(2,\)"):
        v.assign(np.zeros(3))
    with pytest.raises(ValueError):
        v.assign_add(np.zeros((2, 2)))
    with pytest.raises(TypeError):
        v.assign(np.array(["a", "b"]))
    assert v.numpy().tolist() == [1.0, 2.0]


@pytest.mark.parametrize("trainable", [0, 1, "yes", None, np.bool_(True)])
def test_trainable_must_be_a_bool(trainable):
    with pytest.raises(ValueError, match=r"`trainable` to be a boolean. Received: trainable="):
        mg.Variable(np.zeros(2), trainable=trainable)


def test_integer_variables_must_not_be_trainable():
    with pytest.raises(TypeError, match="must be floating point.*int64"):
        mg.Variable(np.array([1, 2]))
    counter = mg.Variable(np.array(0), trainable=False, name="step")
    counter.assign_add(1)
    assert counter.numpy() == 1 and counter.dtype == np.int64
