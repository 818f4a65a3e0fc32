"""minigrad.ops.shapes: reshape, transpose, indexing, pad, concatenate, stack and cast,
each gradient-checked in float64 on Hypothesis-drawn shapes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import ops

from conftest import arrays, gradcheck, shapes


@given(data=st.data())
def test_reshape_gradients(data):
    shape = data.draw(shapes())
    size = int(np.prod(shape))
    candidates = [(-1,), (size,), tuple(reversed(shape)), shape + (1,), (1,) + shape]
    if len(shape) >= 2:
        candidates.append((-1,) + shape[2:])
        candidates.append((shape[0] * shape[1],) + shape[2:])
    new = data.draw(st.sampled_from(candidates))
    x = data.draw(arrays(shape))
    gradcheck(lambda t: t.reshape(new), [x])
    gradcheck(lambda t: ops.reshape(t, new), [x])
    assert mg.Tensor(x).reshape(*new).shape == x.reshape(new).shape


@given(data=st.data())
def test_transpose_gradients(data):
    shape = data.draw(shapes())
    ndim = len(shape)
    perm = data.draw(st.permutations(range(ndim)))
    negative = tuple(a - ndim for a in perm)
    x = data.draw(arrays(shape))
    for axes in (None, tuple(perm), negative):
        gradcheck(lambda t: ops.transpose(t, axes), [x])
        np.testing.assert_array_equal(ops.transpose(mg.Tensor(x), axes).numpy(),
                                      np.transpose(x, axes))
    gradcheck(lambda t: t.T, [x])
    gradcheck(lambda t: t.transpose(*perm), [x])


@given(data=st.data())
def test_getitem_basic_indices(data):
    """Ints (negative too), slices with steps, Ellipsis and None."""
    shape = data.draw(shapes(min_dims=1))
    index = data.draw(hnp.basic_indices(shape, allow_ellipsis=True, allow_newaxis=True))
    x = data.draw(arrays(shape))
    gradcheck(lambda t: t[index], [x])
    np.testing.assert_array_equal(mg.Tensor(x)[index].numpy(), x[index])


@given(data=st.data())
def test_getitem_integer_arrays_with_repeats(data):
    shape = data.draw(shapes(min_dims=1))
    index = data.draw(hnp.integer_array_indices(shape, result_shape=shapes(1, 2, 1, 5)))
    x = data.draw(arrays(shape))
    gradcheck(lambda t: t[index], [x])
    np.testing.assert_array_equal(mg.Tensor(x)[index].numpy(), x[index])
    # Repeated indices add up: the gradient counts how often each element was taken.
    t = mg.Tensor(x)
    with mg.GradientTape() as tape:
        tape.watch(t)
        y = t[index]
    counts = np.zeros(shape)
    np.add.at(counts, index, 1.0)
    np.testing.assert_array_equal(tape.gradient(y, t), counts)


@given(data=st.data())
def test_getitem_boolean_masks(data):
    shape = data.draw(shapes(min_dims=1))
    mask = data.draw(hnp.arrays(np.bool_, shape))
    x = data.draw(arrays(shape))
    gradcheck(lambda t: t[mask], [x])
    gradcheck(lambda t: t[mg.Tensor(mask)], [x])
    t = mg.Tensor(x)
    with mg.GradientTape() as tape:
        tape.watch(t)
        y = t[mask].sum()
    np.testing.assert_array_equal(tape.gradient(y, t), mask.astype(float))


@pytest.mark.parametrize("index", [
    (slice(None), [2, 0, 2]), ([1, 1], slice(None, None, -1)), (0, [1, 1, 2]), (-1, -2),
    (Ellipsis, [0, 0]), (np.array([[1, 0], [1, 1]]),), (slice(1, None), np.array([0, 2])),
])
def test_getitem_mixed_indices(index):
    x = np.random.default_rng(3).normal(size=(2, 3))
    gradcheck(lambda t: t[index], [x])
    # The same index with its integer lists given as Tensors.
    as_tensors = tuple(mg.Tensor(np.array(i)) if isinstance(i, list) else i for i in index)
    gradcheck(lambda t: t[as_tensors], [x])
    np.testing.assert_array_equal(mg.Tensor(x)[as_tensors].numpy(), x[index])


@given(data=st.data())
def test_pad_gradients(data):
    shape = data.draw(shapes(min_dims=1))
    ndim = len(shape)
    widths = data.draw(st.one_of(
        st.integers(0, 2),
        st.tuples(st.integers(0, 2), st.integers(0, 2)),
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=ndim, max_size=ndim)))
    value = data.draw(st.sampled_from([0, 1.5]))
    x = data.draw(arrays(shape))
    gradcheck(lambda t: ops.pad(t, widths, constant_values=value), [x])
    expected = np.pad(x, widths, constant_values=value)
    np.testing.assert_array_equal(ops.pad(mg.Tensor(x), widths, value).numpy(), expected)


@given(data=st.data())
def test_concatenate_gradients(data):
    shape = data.draw(shapes(min_dims=1))
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim, ndim - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    pieces = [data.draw(arrays(shape[:axis % ndim] + (n,) + shape[axis % ndim + 1:]))
              for n in sizes]
    gradcheck(lambda *ts: ops.concatenate(ts, axis=axis), pieces)
    # A constant among the pieces: the tensors still get their own slice of the gradient.
    gradcheck(lambda t: ops.concatenate([pieces[0] * 2, t], axis=axis), [pieces[-1]])
    np.testing.assert_array_equal(
        ops.concatenate([mg.Tensor(p) for p in pieces], axis=axis).numpy(),
        np.concatenate(pieces, axis=axis))


@given(data=st.data())
def test_stack_gradients(data):
    shape = data.draw(shapes(max_dims=2))
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim - 1, ndim))
    n = data.draw(st.integers(1, 3))
    pieces = [data.draw(arrays(shape)) for _ in range(n)]
    gradcheck(lambda *ts: ops.stack(ts, axis=axis), pieces)
    np.testing.assert_array_equal(ops.stack([mg.Tensor(p) for p in pieces], axis=axis).numpy(),
                                  np.stack(pieces, axis=axis))


def test_cast():
    x = mg.Tensor(np.array([1.5, -2.25], dtype=np.float32))
    assert ops.cast(x, "float32") is x
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x.astype("float64") * 2.0
    assert y.dtype == np.float64
    g = tape.gradient(y, x)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [2.0, 2.0])
    assert ops.cast(x, "int32").numpy().tolist() == [1, -2]


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=4),
       data=st.data())
def test_zero_padded_is_np_pad(shape, data):
    """The helper the pad op and the convolutions use: np.pad's zeros, each border written
    once around the copy (an uninitialised number left anywhere would show here)."""
    from minigrad.ops.shapes import zero_padded
    widths = tuple(data.draw(st.tuples(st.integers(0, 3), st.integers(0, 3))) for _ in shape)
    a = np.random.default_rng(len(shape)).standard_normal(shape) + 1.0
    for _ in range(3):                  # reused memory from the previous round is not zeros
        got = zero_padded(a, widths)
        np.testing.assert_array_equal(got, np.pad(a, widths))
        got[...] = np.nan
        del got
