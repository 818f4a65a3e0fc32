"""minigrad.tape: what gets recorded, how gradients come back, and the inspection tools
(listing, printing, stepping backward, hooks)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import ops
from minigrad.tape import BackwardStep, GradientTape, TapeEntry, format_tape, record


def vec(*values, dtype=np.float64):
    return mg.Tensor(np.array(values, dtype=dtype))


# ------------------------------------------------------------------------- persistence
def test_non_persistent_tape_allows_one_gradient_call():
    x = vec(1.0, 2.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (x * x).sum()
    np.testing.assert_array_equal(tape.gradient(y, x), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="non-persistent.*only be used to compute one set"
                                           ".*persistent=True"):
        tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        y.backward()
    with pytest.raises(RuntimeError, match="already computed gradients"):
        with tape:
            pass


def test_persistent_tape_allows_many_calls_and_more_recording():
    x = vec(1.0, 2.0)
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = (x * x).sum()
        z = (x * 3).sum()
    np.testing.assert_array_equal(tape.gradient(y, x), [2.0, 4.0])
    np.testing.assert_array_equal(tape.gradient(z, x), [3.0, 3.0])
    np.testing.assert_array_equal(tape.gradient(y, x), [2.0, 4.0])
    with tape:
        w = (x ** 3).sum()
    np.testing.assert_array_equal(tape.gradient(w, x), [3.0, 12.0])
    assert "persistent=True" in repr(tape)


def test_a_tape_cannot_be_entered_twice_at_once():
    tape = mg.GradientTape()
    with tape:
        with pytest.raises(RuntimeError, match="already recording"):
            tape.__enter__()


def test_reset_forgets_everything_and_allows_reuse():
    x = vec(1.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x * 2
        tape.reset()
        assert len(tape) == 0 and tape.watched_variables() == []
        tape.watch(x)
        y = x * 5
    assert tape.gradient(y, x).numpy().tolist() == [5.0]


# ------------------------------------------------------------------------- sources
def test_list_in_list_out_single_in_single_out():
    a, b = vec(1.0, 2.0), vec(3.0)
    with mg.GradientTape(persistent=True) as tape:
        tape.watch([a, b])
        y = (a * b).sum()
    single = tape.gradient(y, a)
    assert isinstance(single, mg.Tensor)            # gradients are Tensors (TensorFlow's rule)
    listed = tape.gradient(y, [a, b])
    assert isinstance(listed, list) and len(listed) == 2
    np.testing.assert_array_equal(listed[1], [3.0])
    assert isinstance(tape.gradient(y, (a, b)), list)
    assert tape.gradient(y, [a])[0].shape == (2,)


def test_unconnected_sources_get_none():
    a, b = vec(1.0), vec(2.0)
    unwatched = vec(3.0)
    with mg.GradientTape() as tape:
        tape.watch([a, b])
        y = a * 2 + unwatched
    ga, gb, gu = tape.gradient(y, [a, b, unwatched])
    assert ga.numpy().tolist() == [2.0] and gb is None and gu is None


def test_gradient_of_a_source_with_respect_to_itself_is_ones():
    x = vec(1.0, 2.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
    np.testing.assert_array_equal(tape.gradient(x, x), [1.0, 1.0])


def test_gradient_with_respect_to_an_intermediate():
    x = vec(1.0, 2.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        h = x * 3
        y = (h * h).sum()
    gh, gx = tape.gradient(y, [h, x])
    np.testing.assert_array_equal(gh, 2 * h.numpy())
    np.testing.assert_array_equal(gx, 18 * x.numpy())


def test_reused_node_gradients_add_up():
    x = vec(1.0, -2.0, 3.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        h = x * 2                 # h used three times
        y = (h * h + h + ops.exp(h)).sum()
    h_ = 2 * x.numpy()
    np.testing.assert_allclose(tape.gradient(y, x), 2 * (2 * h_ + 1 + np.exp(h_)))


@given(n=st.integers(1, 6))
def test_diamond_graphs_accumulate(n):
    x = vec(0.5, 1.5)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = sum(x * float(k) for k in range(1, n + 1)).sum()
    np.testing.assert_allclose(tape.gradient(y, x), [n * (n + 1) / 2] * 2)


def test_non_scalar_target_is_summed_and_output_gradients_seed_it():
    x = vec(1.0, 2.0, 3.0)
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_array_equal(tape.gradient(y, x), 2 * x.numpy())
    seed = np.array([1.0, 0.0, -1.0])
    np.testing.assert_array_equal(tape.gradient(y, x, output_gradients=seed), [2.0, 0.0, -6.0])
    np.testing.assert_array_equal(tape.gradient(y, x, output_gradients=mg.Tensor(seed)),
                                  [2.0, 0.0, -6.0])
    with pytest.raises(ValueError, match=r"output_gradients has shape \(2,\).*\(3,\)"):
        tape.gradient(y, x, output_gradients=np.ones(2))


def test_returned_gradients_are_fresh_arrays():
    """add() passes one array to both inputs and may pass the seed through: each
    caller still gets an array of its own."""
    a, b = vec(1.0, 2.0), vec(3.0, 4.0)
    seed = np.array([1.0, 1.0])
    with mg.GradientTape() as tape:
        tape.watch([a, b])
        y = a + b
    ga, gb = tape.gradient(y, [a, b], output_gradients=seed)
    assert not np.shares_memory(ga, gb) and not np.shares_memory(ga, seed)
    ga += 10
    np.testing.assert_array_equal(gb, [1.0, 1.0])
    np.testing.assert_array_equal(seed, [1.0, 1.0])


def test_a_tensor_seed_is_not_handed_back_either():
    x = vec(1.0, 2.0)
    seed = mg.Tensor(np.array([3.0, 4.0]))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x + 0.0
    g = tape.gradient(y, x, output_gradients=seed)
    np.testing.assert_array_equal(g, [3.0, 4.0])
    assert not np.shares_memory(g, seed.numpy())


def test_intermediate_gradients_are_released_but_sources_kept():
    x = vec(1.0, 2.0)
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = x * 2
        k = h * 3
        y = k.sum()
    gh, gx = tape.gradient(y, [h, x])
    np.testing.assert_array_equal(gh, [3.0, 3.0])
    np.testing.assert_array_equal(gx, [6.0, 6.0])
    grads = tape._run(y, None, keep={id(x)}, differentiable=False)
    assert id(x) in grads and id(h) not in grads and id(k) not in grads


def test_zero_dimensional_results_are_arrays():
    x = mg.Tensor(2.0)
    for y in (ops.exp(x), x * 2.0, ops.tanh(x), x.sum(), -x, ops.maximum(x, 1.0)):
        assert type(y.data) is np.ndarray and y.shape == ()


def test_gradient_argument_errors():
    x = vec(1.0)
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * 2
    with pytest.raises(TypeError, match="sources must be Tensors"):
        tape.gradient(y, [np.ones(1)])
    with pytest.raises(TypeError, match="target must be a Tensor"):
        tape.gradient(np.ones(1), x)


# ------------------------------------------------------------------------- recording
def test_nothing_is_recorded_outside_a_tape():
    x = vec(1.0, 2.0)
    y = (x * 3).sum()
    assert y._tape is None
    with pytest.raises(RuntimeError, match="not recorded by any tape"):
        y.backward()


def test_only_ops_on_tracked_tensors_are_recorded():
    x, c = vec(1.0), vec(2.0)
    with mg.GradientTape() as tape:
        c2 = c * 2                # nothing tracked yet
        tape.watch(x)
        y = x * c2
        z = c2 + 1                # still untracked
    assert [e.op for e in tape] == ["multiply"]
    assert z._tape is None and y._tape is tape


def test_trainable_variables_are_watched_automatically():
    v = mg.Variable(np.array([1.0, 2.0]), name="v")
    w = mg.Variable(np.array([3.0, 4.0]), name="w")
    frozen = mg.Variable(np.array([5.0, 6.0]), trainable=False)
    with mg.GradientTape() as tape:
        y = (v * w * frozen).sum()          # v and w both enter one op
    assert tape.watched_variables() == [v, w]
    gv, gw, gf = tape.gradient(y, [v, w, frozen])
    np.testing.assert_array_equal(gv, [15.0, 24.0])
    np.testing.assert_array_equal(gw, [5.0, 12.0])
    assert gf is None
    assert tape.watched_variables() == []        # a used non-persistent tape lets go


def test_non_trainable_variables_can_be_watched_explicitly():
    frozen = mg.Variable(np.array([5.0]), trainable=False)
    with mg.GradientTape() as tape:
        tape.watch(frozen)
        y = frozen * 2
    assert tape.gradient(y, frozen).numpy().tolist() == [2.0]


def test_watch_accessed_variables_false():
    v = mg.Variable(np.array([1.0]))
    u = mg.Variable(np.array([2.0]))
    with mg.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(u)
        y = v * u
    assert tape.watched_variables() == [u]
    gv, gu = tape.gradient(y, [v, u])
    assert gv is None and gu.numpy().tolist() == [1.0]


def test_watch_errors():
    tape = mg.GradientTape()
    with pytest.raises(TypeError, match="floating-point.*int64"):
        tape.watch(mg.Tensor(np.array([1, 2])))
    with pytest.raises(TypeError, match="expects a Tensor or Variable, got ndarray"):
        tape.watch(np.ones(2))
    tape.watch([vec(1.0), vec(2.0)])
    assert len(tape.watched_variables()) == 2


def test_nested_tapes():
    x = vec(1.0, 2.0)
    with mg.GradientTape() as outer:
        outer.watch(x)
        a = x * 2
        with mg.GradientTape() as inner:
            inner.watch(a)
            b = (a * a).sum()
        c = a.sum() + b
    np.testing.assert_array_equal(inner.gradient(b, a), 2 * a.numpy())
    assert [e.op for e in inner] == []          # non-persistent: dropped after use
    np.testing.assert_array_equal(outer.gradient(c, x), 2 + 8 * x.numpy())


def test_nested_tape_only_records_what_it_tracks():
    x, y = vec(1.0), vec(2.0)
    with mg.GradientTape(persistent=True) as outer:
        outer.watch(x)
        with mg.GradientTape(persistent=True) as inner:
            inner.watch(y)
            a = x * 3
            b = y * 4
            c = a * b
    assert [e.op for e in outer] == ["multiply", "multiply"]
    assert [e.op for e in inner] == ["multiply", "multiply"]
    assert outer.gradient(c, x).numpy().tolist() == [24.0] and outer.gradient(c, y) is None
    assert inner.gradient(c, y).numpy().tolist() == [12.0] and inner.gradient(c, x) is None


def test_stop_recording():
    x = vec(1.0, 2.0)
    v = mg.Variable(np.array([3.0, 4.0]))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x * 2
        with tape.stop_recording():
            z = y * 3                # not recorded: no gradient through it
            w = v * 1                # and v is not watched because of it
            with tape.stop_recording():
                pass
            u = x * 5                # still paused after the nested block
        t = (y * z + u).sum()
    assert tape.watched_variables() == [x]
    assert z._tape is None and w._tape is None and u._tape is None
    # z and u are constants to the tape: t depends on x through y only
    np.testing.assert_array_equal(tape.gradient(t, x), 2 * z.numpy())


def test_stop_recording_gradient():
    x = vec(1.0, 2.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x * 2
        with tape.stop_recording():
            z = y * 3
        t = (y * z).sum()
    np.testing.assert_array_equal(tape.gradient(t, x), 2 * z.numpy())


def test_differentiating_inside_the_with_block():
    x = vec(3.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        assert tape.gradient(y, x).numpy().tolist() == [6.0]
        z = y * 2                       # the tape dropped its entries: not recorded
    assert z._tape is None


# ------------------------------------------------------------------------- backward()
def test_backward_fills_grad_of_watched_leaves_and_accumulates():
    x = vec(1.0, 2.0)
    v = mg.Variable(np.array([3.0]))
    c = vec(5.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (x * v * c).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [15.0, 15.0])
    np.testing.assert_array_equal(v.grad, [15.0])
    assert c.grad is None and y.grad is None
    with mg.GradientTape() as tape:
        y = (v * v).sum()
    y.backward()
    np.testing.assert_array_equal(v.grad, [21.0])         # 15 + 2 * 3
    v.grad = None
    with mg.GradientTape() as tape:
        y = (v * 2).sum()
    y.backward()
    assert v.grad == [2.0]


def test_backward_needs_a_scalar_or_a_gradient():
    x = vec(1.0, 2.0, dtype=np.float32)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x * 3
    with pytest.raises(RuntimeError, match=r"needs a scalar, got shape \(2,\)"):
        y.backward()
    y.backward(gradient=np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 6.0])
    assert x.grad.dtype == np.float32


def test_backward_gives_each_leaf_its_own_array():
    a, b = vec(1.0), vec(2.0)
    with mg.GradientTape() as tape:
        tape.watch([a, b])
        y = (a + b).sum()
    y.backward()
    assert a.grad is not b.grad
    a.grad += 1
    assert b.grad == [1.0]


# ------------------------------------------------------------------------- inspection
def test_entries_list_ops_inputs_outputs_and_shapes():
    x = mg.Tensor(np.ones((2, 3)), name="x")
    w = mg.Variable(np.ones((3, 4)), name="w")
    with mg.GradientTape() as tape:
        tape.watch(x)
        h = x @ w
        y = ops.relu(h).sum()
    entries = list(tape)
    assert [e.op for e in entries] == ["matmul", "relu", "sum"]
    assert all(isinstance(e, TapeEntry) for e in entries)
    assert entries[0].inputs == (x, w) and entries[0].output is h
    assert entries[0].outputs == (h,)
    assert entries[0].input_shapes == ((2, 3), (3, 4)) and entries[0].output_shape == (2, 4)
    assert entries[2].output is y and entries[2].output_shape == ()
    assert [e.index for e in entries] == [0, 1, 2]
    assert len(tape) == 3 and tape[1] is entries[1]
    assert repr(entries[0]) == "<TapeEntry #0 matmul((2, 3), (3, 4)) -> (2, 4)>"


def test_printed_tape_is_a_table():
    x = mg.Tensor(np.ones((2, 3)), name="x")
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (x * 2).sum(axis=0)
    assert str(tape) == format_tape(list(tape))
    lines = str(tape).splitlines()
    assert lines[0].split() == ["#", "op", "inputs", "output", "layer"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["0", "multiply", "x:2x3", "float64", "2x3", "float64"]
    assert lines[3].split() == ["1", "sum", "2x3", "float64", "3", "float64"]
    assert "(empty tape)" in str(mg.GradientTape())
    scalar = mg.Tensor(1.0)
    with mg.GradientTape() as tape:
        tape.watch(scalar)
        scalar * 2
    assert "scalar float64" in str(tape)


def test_entries_remember_the_layer_scope():
    from minigrad.tape import layer_scope
    x = vec(1.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        with layer_scope("dense_1"):
            y = x * 2
        y = y + 1
    first, second = list(tape)
    assert first.layer == "dense_1" and second.layer is None
    assert "in dense_1" in repr(first) and "dense_1" in str(tape)


def test_backward_steps_walk_the_entries_in_reverse():
    x = vec(1.0, 2.0)
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = x * 3
        e = ops.exp(h)
        y = e.sum()
    steps = tape.backward_steps(y, [x])
    first = next(steps)
    assert isinstance(first, BackwardStep)
    assert first.op == "sum" and first.output is y and first.inputs == (e,)
    np.testing.assert_array_equal(first.grad_output, 1.0)
    np.testing.assert_array_equal(first.grad_inputs[0], [1.0, 1.0])
    second = next(steps)
    assert second.op == "exp"
    np.testing.assert_allclose(second.grad_inputs[0], np.exp(h.numpy()))
    third = next(steps)
    assert third.op == "multiply" and len(third.grad_inputs) == 1
    with pytest.raises(StopIteration) as stop:
        next(steps)
    gx, = stop.value.value
    np.testing.assert_allclose(gx, tape.gradient(y, [x])[0])
    assert "BackwardStep multiply" in repr(third)


def test_backward_steps_match_gradient_and_mark_untracked_inputs():
    x = vec(1.0, 2.0)
    c = vec(4.0, 5.0)
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = (ops.concatenate([x * x, c]) * 2).sum()
    steps = list(tape.backward_steps(y))
    concat = [s for s in steps if s.op == "concatenate"][0]
    assert concat.grad_inputs[1] is None                  # c is a constant
    result = []

    def collect():
        result.append((yield from tape.backward_steps(y, x)))
    list(collect())
    np.testing.assert_allclose(result[0], tape.gradient(y, x))
    assert x.grad is None


def test_backward_steps_on_a_non_persistent_tape():
    x = vec(1.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x * 2
    assert len(list(tape.backward_steps(y))) == 1
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, x)


# ------------------------------------------------------------------------- hooks
def test_hook_sees_the_gradient_and_can_replace_it():
    x = vec(1.0, 2.0)
    seen = []
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = x * 3
        y = (h * h).sum()
    handle = h.register_hook(lambda g: seen.append(g.copy()))
    np.testing.assert_array_equal(tape.gradient(y, x), 18 * x.numpy())
    np.testing.assert_array_equal(seen[0], 2 * h.numpy())
    handle.remove()
    handle2 = h.register_hook(lambda g: g * 0 + 1)         # replace dL/dh by ones
    np.testing.assert_array_equal(tape.gradient(y, x), [3.0, 3.0])
    np.testing.assert_array_equal(tape.gradient(y, h), [1.0, 1.0])
    handle2.remove()
    np.testing.assert_array_equal(tape.gradient(y, x), 18 * x.numpy())
    assert len(seen) == 1
    handle.remove()                                      # removing twice is harmless


def test_hooks_on_leaves_run_once_and_apply_to_results():
    x = vec(1.0, 2.0)
    calls = []
    x.register_hook(lambda g: calls.append(1) or g * 10)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (x * x).sum()
    np.testing.assert_array_equal(tape.gradient(y, x), [20.0, 40.0])
    assert calls == [1]
    x.register_hook(lambda g: mg.Tensor(g + 1))           # a Tensor is accepted too
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x.sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [11.0, 11.0])


def test_hooks_run_in_backward_steps_too():
    x = vec(1.0)
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = x * 2
        y = h * 5
    h.register_hook(lambda g: g * 0)
    steps = list(tape.backward_steps(y))
    np.testing.assert_array_equal(steps[1].grad_output, [0.0])
    assert tape.gradient(y, x).numpy().tolist() == [0.0]


def test_hook_errors():
    x = vec(1.0, 2.0)
    with pytest.raises(TypeError, match="callable"):
        x.register_hook(3)
    x.register_hook(lambda g: np.ones(3))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x.sum()
    with pytest.raises(ValueError, match=r"hook returned shape \(3,\).*\(2,\)"):
        tape.gradient(y, x)


# ------------------------------------------------------------------------- record
def test_record_is_how_custom_ops_enter_the_tape():
    def cube(t):
        out = t.data ** 3
        return record("cube", (t,), out, lambda g: (3 * g * t.data ** 2,))
    x = vec(1.0, 2.0)
    y = cube(x)
    assert isinstance(y, mg.Tensor) and y._tape is None
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = cube(x).sum()
    assert [e.op for e in tape] == ["cube", "sum"]
    np.testing.assert_array_equal(tape.gradient(y, x), [3.0, 12.0])
    mg.gradcheck(cube, [np.array([0.5, -1.5])])


def test_stop_gradient_under_a_tape():
    x = vec(2.0)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x * ops.stop_gradient(x)
    assert tape.gradient(y, x).numpy().tolist() == [2.0]


def test_tape_repr_and_gradient_tape_export():
    assert mg.GradientTape is GradientTape
    tape = mg.GradientTape()
    assert repr(tape) == "<GradientTape stopped, 0 entries, persistent=False>"
    with tape:
        assert "recording" in repr(tape)


def test_hooks_run_when_an_outer_tape_records_the_walk():
    """With an outer tape recording, a hook sees the gradient as a Tensor, and what it
    returns is part of the recorded gradient: the second derivative goes through it. The
    hook also runs in the outer walk, whose gradient reaches ``h`` too (``dy`` holds a
    ``+ h`` term): d/dh of sum(dy) is 1, doubled to 2. PyTorch's tensor hooks give the
    same 12x (checked with torch 2.13)."""
    x = vec(1.0, 2.0)
    seen = []
    with mg.GradientTape() as outer:
        outer.watch(x)
        with mg.GradientTape() as inner:
            inner.watch(x)
            h = x * x                                     # dh/dx = 2x
            y = (h * x).sum()                             # y = sum x^3
        h.register_hook(lambda g: seen.append(g) or g * 2)    # dL/dh doubled: x -> 2x
        dy = inner.gradient(y, x)                         # 2 * x * 2x + x^2 = 5x^2
        s = dy.sum()
    assert len(seen) == 1 and isinstance(seen[0], mg.Tensor)
    np.testing.assert_allclose(dy.numpy(), 5 * x.numpy() ** 2)
    # through the doubled inner gradient 4x^2: 8x; through h in the outer walk, doubled: 2 * 2x
    np.testing.assert_allclose(outer.gradient(s, x).numpy(), 12 * x.numpy())
    assert len(seen) == 2
