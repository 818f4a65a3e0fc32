"""Tests for gradient inspection: the DOT drawing, backward steps, hooks, gradcheck reports,
the origin of NaN/inf, the GradientStats callback and the plots (minigrad.inspection,
minigrad.plotting)."""
import re
import shutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import layers, ops, optimizers
from minigrad.gradcheck import GradcheckError
from minigrad.inspection import (GradientStats, GraphvizNotFoundError, NonFiniteError,
                              find_nonfinite, render_dot, tape_to_dot)
from minigrad.models import Sequential
from minigrad.tape import record

pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")


def rand(*shape, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


def small_model(activation="relu", name_prefix=""):
    return Sequential([layers.Dense(4, activation=activation, input_shape=(3,),
                                    name=f"{name_prefix}hidden"),
                       layers.Dense(1, name=f"{name_prefix}out")])


# -- DOT ------------------------------------------------------------------------------

_ID = r'[A-Za-z_][A-Za-z0-9_]*'
_STRING = r'"(?:[^"\\]|\\.)*"'
_VALUE = rf'(?:{_ID}|{_STRING}|-?[0-9.]+)'
_ATTRS = rf'\[\s*{_ID}\s*=\s*{_VALUE}(?:\s*,\s*{_ID}\s*=\s*{_VALUE})*\s*\]'


def parse_dot(text):
    """A strict little reader for the DOT subset tape_to_dot writes.

    Returns (nodes: {name: label}, edges: [(tail, head)]); fails on anything else, on
    unbalanced braces, or on an edge to an undeclared node.
    """
    lines = [l.strip() for l in text.strip().splitlines()]
    assert lines[0] == "digraph tape {" and lines[-1] == "}"
    nodes, edges, depth = {}, [], 1
    for line in lines[1:-1]:
        if re.fullmatch(rf'subgraph {_ID} \{{', line):
            depth += 1
        elif line == "}":
            depth -= 1
            assert depth >= 1
        elif m := re.fullmatch(rf'({_ID}) -> ({_ID})(?: {_ATTRS})?;', line):
            edges.append((m.group(1), m.group(2)))
        elif m := re.fullmatch(rf'({_ID}) ({_ATTRS});', line):
            if m.group(1) not in ("node", "edge", "graph"):
                label = re.search(rf'label=({_STRING})', m.group(2)).group(1)
                nodes[m.group(1)] = label[1:-1].replace('\\"', '"').replace("\\n", "\n")
        elif re.fullmatch(rf'(?:{_ID}={_VALUE};\s*)+', line):
            pass
        else:
            raise AssertionError(f"not valid DOT (for this subset): {line!r}")
    assert depth == 1, "unbalanced braces"
    for tail, head in edges:
        assert tail in nodes and head in nodes, (tail, head)
    return nodes, edges


def test_dot_has_op_and_tensor_nodes_and_edges():
    model = small_model()
    x = mg.Tensor(rand(2, 3).astype("float32"), name="images")
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        loss = model(x).sum()
    dot = tape.to_dot()
    assert dot == tape_to_dot(tape)
    nodes, edges = parse_dot(dot)
    entries = list(tape)
    ops_nodes = {n: l for n, l in nodes.items() if n.startswith("op")}
    assert len(ops_nodes) == len(entries)
    for e in entries:
        label = ops_nodes[f"op{e.index}"]
        assert label.startswith(f"#{e.index} {e.op}")
        if e.layer:
            assert label.endswith(e.layer)
    assert "#0 matmul\nhidden" in ops_nodes.values()
    # every input -> op and op -> output, nothing else
    assert len(edges) == sum(len(e.inputs) + 1 for e in entries)
    tensor_labels = [l for n, l in nodes.items() if n.startswith("t")]
    assert "images\n2x3 float32" in tensor_labels
    assert "hidden/kernel\n3x4 float32" in tensor_labels
    assert "out/bias\n1 float32" in tensor_labels
    assert "scalar float32" in tensor_labels
    # one box per layer, holding its ops
    assert 'label="hidden";' in dot and 'label="out";' in dot
    assert loss.shape == ()


def test_dot_edges_follow_the_graph_and_number_arguments():
    a = mg.Tensor(rand(2, 3), name="a")
    b = mg.Tensor(rand(3, 2, seed=1), name="b")
    with mg.GradientTape(persistent=True) as tape:
        tape.watch([a, b])
        c = a @ b
        d = ops.exp(c)
    dot = tape.to_dot(group_layers=False, rankdir="LR", target=d)
    nodes, edges = parse_dot(dot)
    name = {l.split("\n")[0]: n for n, l in nodes.items()}
    assert (name["a"], "op0") in edges and (name["b"], "op0") in edges
    assert re.search(rf'{name["a"]} -> op0 \[label="0"\]', dot)
    assert re.search(rf'{name["b"]} -> op0 \[label="1"\]', dot)
    out_c = [h for t, h in edges if t == "op0"][0]
    assert (out_c, "op1") in edges
    assert "rankdir=LR;" in dot and "subgraph" not in dot
    assert "bold" in [l for l in dot.splitlines() if f"label=\"2x2 float64\"" in l][-1]


def test_dot_escapes_quotes_and_handles_an_empty_tape():
    x = mg.Tensor([1.0, 2.0], name='say "hi"\\')
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        (x * 2).sum()
    nodes, _ = parse_dot(tape_to_dot(tape))
    assert 'say "hi"\\\\\n2 float64' in nodes.values()
    empty = mg.GradientTape()
    assert parse_dot(tape_to_dot(empty)) == ({}, [])
    with pytest.raises(ValueError, match="rankdir"):
        tape_to_dot(empty, rankdir="sideways")


def test_render_dot_without_graphviz_raises_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphvizNotFoundError, match="Graphviz.*apt install graphviz"):
        render_dot("digraph tape {\n}\n", tmp_path / "g.svg")
    with pytest.raises(ValueError, match="extension"):
        render_dot("digraph tape {\n}\n", tmp_path / "g")


def fake_graphviz(tmp_path, exit_code=0):
    """A stand-in ``dot`` program: copies its DOT input to the ``-o`` file."""
    import sys
    script = tmp_path / "fake_dot"
    script.write_text(f"#!{sys.executable}\n"
                      "import sys\n"
                      "args = sys.argv[1:]\n"
                      "text = sys.stdin.read()\n"
                      f"if {exit_code}:\n"
                      "    sys.stderr.write('syntax error in line 1')\n"
                      f"    sys.exit({exit_code})\n"
                      "open(args[args.index('-o') + 1], 'w').write(args[0] + '\\n' + text)\n")
    script.chmod(0o755)
    return str(script)


def test_render_dot_runs_graphviz_with_the_format_and_the_text(tmp_path, monkeypatch):
    program = fake_graphviz(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda name: program if name == "dot" else None)
    x = mg.Tensor(rand(3))
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ops.log(x).sum()
    out = tmp_path / "graph.PNG"
    assert render_dot(tape, out) == str(out)
    written = out.read_text()
    assert written.startswith("-Tpng\n") and written.endswith(tape.to_dot())
    render_dot("digraph tape {\n}\n", tmp_path / "g.out", format="svg")
    assert (tmp_path / "g.out").read_text().startswith("-Tsvg\n")
    monkeypatch.setattr(shutil, "which", lambda name: fake_graphviz(tmp_path, exit_code=1))
    with pytest.raises(ValueError, match="syntax error"):
        render_dot("digraph {", tmp_path / "bad.svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_render_dot_writes_an_svg(tmp_path):
    x = mg.Tensor(rand(3))
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ops.log(x).sum()
    path = render_dot(tape, tmp_path / "graph.svg")
    assert "<svg" in open(path).read()


# -- backward_steps ---------------------------------------------------------------------

def run_steps(steps):
    """All steps of a backward_steps generator and its return value."""
    seen = []
    while True:
        try:
            seen.append(next(steps))
        except StopIteration as stop:
            return seen, stop.value


def test_backward_steps_show_each_op_and_its_gradients():
    a, b = mg.Tensor(rand(3)), mg.Tensor(rand(3, seed=1))
    with mg.GradientTape(persistent=True) as tape:
        tape.watch([a, b])
        p = a * b                         # entry 0
        s = ops.exp(p)                    # entry 1
        y = s.sum()                       # entry 2
    steps, final = run_steps(tape.backward_steps(y, [a, b]))
    assert [st.op for st in steps] == ["sum", "exp", "multiply"]
    assert [st.entry.index for st in steps] == [2, 1, 0]
    sum_step, exp_step, mul_step = steps
    assert sum_step.inputs == (s,) and sum_step.output is y
    np.testing.assert_allclose(sum_step.grad_output, 1.0)
    np.testing.assert_allclose(sum_step.grad_inputs[0], np.ones(3))
    assert exp_step.inputs == (p,) and exp_step.output is s
    np.testing.assert_allclose(exp_step.grad_inputs[0], np.exp(a.data * b.data))
    assert mul_step.inputs == (a, b) and mul_step.output is p
    np.testing.assert_allclose(mul_step.grad_output, np.exp(a.data * b.data))
    np.testing.assert_allclose(mul_step.grad_inputs[0], np.exp(a.data * b.data) * b.data)
    np.testing.assert_allclose(mul_step.grad_inputs[1], np.exp(a.data * b.data) * a.data)
    assert "multiply" in repr(mul_step)
    for got, want in zip(final, tape.gradient(y, [a, b])):
        np.testing.assert_allclose(got, want)


def test_backward_steps_match_gradient_on_a_model_and_skip_constants():
    model = small_model()
    x = rand(5, 3).astype("float32")
    with mg.GradientTape(persistent=True) as tape:
        loss = (model(x) * 3.0).mean()
    steps, final = run_steps(tape.backward_steps(loss, model.trainable_weights))
    assert len(steps) == len(tape)
    first_matmul = [st for st in steps if st.entry.index == 0][0]
    assert first_matmul.grad_inputs[0] is None          # the data needs no gradient
    assert first_matmul.grad_inputs[1].shape == (3, 4)  # the kernel does
    for got, want in zip(final, tape.gradient(loss, model.trainable_weights)):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_backward_steps_run_hooks_like_gradient():
    x = mg.Tensor(rand(4))
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = x * x
        y = (h * 2.0).sum()
    h.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: g + 1)
    steps, final = run_steps(tape.backward_steps(y, x))
    square = [st for st in steps if st.output is h][0]
    np.testing.assert_allclose(square.grad_output, np.full(4, 20.0))   # after h's hook
    np.testing.assert_allclose(final, 40 * x.data + 1)
    np.testing.assert_allclose(tape.gradient(y, x), final)


def test_backward_steps_use_up_a_non_persistent_tape():
    x = mg.Tensor(rand(2))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (x * x).sum()
    run_steps(tape.backward_steps(y, x))
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, x)


# Bounded ops, so that chains of them cannot overflow.
UNARY = {"exp": lambda t: ops.exp(ops.tanh(t)), "square": lambda t: ops.square(ops.tanh(t)),
         "neg": lambda t: -t, "scale": lambda t: t * 0.5}


@given(program=st.lists(st.tuples(st.sampled_from(sorted(UNARY) + ["mul", "add", "matmul"]),
                                  st.integers(0, 10)), min_size=1, max_size=8),
       rows=st.integers(1, 3), seed=st.integers(0, 2 ** 16))
def test_random_graphs_draw_and_step_back_like_gradient(program, rows, seed):
    """Random graphs of 3x3 tensors: the DOT reads back with every entry's edges, and the
    backward steps end with the gradients ``gradient`` computes."""
    rng = np.random.default_rng(seed)
    leaves = [mg.Tensor(rng.uniform(-1, 1, (rows, 3))), mg.Variable(rng.uniform(-1, 1, (3, 3)))]
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(leaves[0])
        values = list(leaves)
        for op, pick in program:
            a, b = values[pick % len(values)], values[(pick + 1) % len(values)]
            if op == "matmul":
                a = a if a.shape[-1] == 3 else values[0]
                values.append(a @ leaves[1])
            elif op in ("mul", "add"):
                if a.shape != b.shape:
                    b = a
                values.append(a * ops.tanh(b) if op == "mul" else a + b)
            else:
                values.append(UNARY[op](a))
        y = sum(v.sum() for v in values[2:])
    nodes, edges = parse_dot(tape_to_dot(tape))
    assert len(edges) == sum(len(e.inputs) + 1 for e in tape)
    steps, final = run_steps(tape.backward_steps(y, leaves))
    assert [s.entry.index for s in steps] == sorted((s.entry.index for s in steps), reverse=True)
    for got, want in zip(final, tape.gradient(y, leaves)):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_allclose(got, want)


# -- register_hook ----------------------------------------------------------------------

def test_hook_is_called_with_the_gradient_on_leaves_and_intermediates():
    x = mg.Tensor(rand(3))
    seen = {}
    x.register_hook(lambda g: seen.__setitem__("x", g.copy()))
    with mg.GradientTape() as tape:
        tape.watch(x)
        h = ops.exp(x)
        h.register_hook(lambda g: seen.__setitem__("h", g.copy()))
        y = (h * 3.0).sum()
    grad = tape.gradient(y, x)
    np.testing.assert_allclose(seen["h"], np.full(3, 3.0))
    np.testing.assert_allclose(seen["x"], 3 * np.exp(x.data))
    np.testing.assert_allclose(grad, seen["x"])          # returning None keeps the gradient


def test_hook_replacement_is_used_downstream():
    x = mg.Tensor(rand(3))
    w = mg.Variable(rand(3, seed=1), name="w")
    with mg.GradientTape() as tape:
        tape.watch(x)
        h = x * w
        h.register_hook(lambda g: np.zeros_like(g) + 0.5)   # replace dL/dh
        y = ops.exp(h).sum()
    gx, gw = tape.gradient(y, [x, w])
    np.testing.assert_allclose(gx, 0.5 * w.data)
    np.testing.assert_allclose(gw, 0.5 * x.data)
    # a leaf's hook replaces what gradient() returns, and hooks chain in order
    handle_1 = w.register_hook(lambda g: g * 2)
    handle_2 = w.register_hook(lambda g: mg.Tensor(g + 1))
    with mg.GradientTape() as tape:
        y = (w * 1.0).sum()
    np.testing.assert_allclose(tape.gradient(y, w), np.full(3, 3.0))
    handle_1.remove()
    handle_2.remove()


def test_removed_hooks_are_not_called():
    x = mg.Tensor(rand(2))
    calls = []
    handle = x.register_hook(lambda g: calls.append(1) or g * 100)
    handle.remove()
    handle.remove()                                       # removing twice is harmless
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (x * x).sum()
    np.testing.assert_allclose(tape.gradient(y, x), 2 * x.data)
    assert calls == []
    with pytest.raises(TypeError, match="callable"):
        x.register_hook("not a function")


# -- gradcheck reports ------------------------------------------------------------------

def test_gradcheck_report_per_input():
    a, b = rand(2, 3), rand(3, 2, seed=1)
    report = mg.gradcheck(lambda a, b: ops.exp(a @ b), [a, b])
    assert len(report) == 2
    for position, entry in enumerate(report):
        assert entry.position == position
        assert entry.max_abs_error < 1e-6 and entry.max_rel_error < 1e-6
        assert len(entry.worst_index) == 2
    text = str(report)
    assert text.count("\n") == 1
    assert "input 0: max abs error" in text and "max rel error" in text
    assert "worst index" in text


def wrong_square(x):
    """x**2 whose backward is off by 10% at the largest element only."""
    data = x.data
    wrong = np.ones_like(data)
    wrong.flat[np.argmax(data)] = 1.1
    return record("wrong_square", (x,), data * data, lambda g: (g * 2 * data * wrong,))


def test_gradcheck_finds_the_worst_index():
    x = np.array([[1.0, 2.0], [3.0, 0.5]])
    report = mg.gradcheck(wrong_square, [x], raise_exception=False)
    entry = report[0]
    assert entry.worst_index == (1, 0)
    assert entry.max_rel_error == pytest.approx(0.1, rel=1e-3)
    assert entry.max_abs_error == pytest.approx(0.6 * abs(entry.numeric_at_worst) / 6,
                                                rel=1e-3)
    assert "worst index (1, 0)" in str(report)
    with pytest.raises(GradcheckError, match=r"index \(1, 0\)"):
        mg.gradcheck(wrong_square, [x])


# -- find_nonfinite ---------------------------------------------------------------------

def test_log_of_zero_is_traced_to_its_op_and_layer():
    model = Sequential([layers.Dense(2, activation="relu", input_shape=(3,), name="dense"),
                        layers.Dense(2, activation=ops.log, name="dense_1"),
                        layers.Dense(1, name="dense_2")])
    model.get_layer("dense_1").set_weights([np.zeros((2, 2)), np.zeros(2)])   # log(0)
    with mg.GradientTape() as tape:
        loss = model(rand(4, 3)).mean()
    report = find_nonfinite(tape, loss, model.trainable_weights)
    assert report.found
    assert (report.forward.op, report.forward.layer) == ("log", "dense_1")
    assert report.forward.stage == "forward"
    assert "-inf" in report.forward.detail
    assert (report.backward.op, report.backward.layer) == ("log", "dense_1")
    assert report.backward.index == report.forward.index
    assert report.backward.input_positions == (0,)
    text = str(report)
    assert "'log' in layer 'dense_1'" in text
    assert "forward:" in text and "backward:" in text
    # dense_2's matmul, fed -inf, sends -inf on first: noted, but not the origin
    assert "'matmul' in layer 'dense_2'" in report.notes[0]
    assert len(report.gradients) == len(model.trainable_weights)


def test_gradient_only_nonfinite_is_found_backward():
    x = mg.Tensor(np.array([0.0, 4.0]))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (ops.sqrt(x) * 2.0).sum()       # sqrt(0) = 0 is fine; its slope is not
    report = tape.find_nonfinite(y, x)          # the method is the same function
    assert report.forward is None
    assert report.backward.op == "sqrt" and report.backward.layer is None
    assert "inf in 1 of 2 elements" in str(report.backward)
    assert "outside any layer" in str(report)
    assert np.isinf(report.gradients[0])


def test_nonfinite_data_and_unrelated_entries():
    x = mg.Tensor(np.array([1.0, np.nan]), name="data")
    z = mg.Tensor(np.array([0.0]))
    with mg.GradientTape(persistent=True) as tape:
        tape.watch([x, z])
        ops.log(z)                           # not on the way to y: ignored
        y = (x * 2.0).sum()
    report = find_nonfinite(tape, y)
    assert report.forward is None and report.backward is None
    assert len(report.nonfinite_leaves) == 1
    assert "data" in report.nonfinite_leaves[0] and "NaN" in report.nonfinite_leaves[0]
    assert report.gradients is None


def test_all_finite_and_raise_error():
    x = mg.Tensor(rand(3))
    with mg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = ops.exp(x).sum()
    report = find_nonfinite(tape, y, x)
    assert not report.found
    assert str(report).startswith("No NaN or inf")
    np.testing.assert_allclose(report.gradients, np.exp(x.data))
    z = mg.Tensor(np.array([-1.0, 1.0]))
    with mg.GradientTape() as tape:
        tape.watch(z)
        y = ops.log(z).sum()
    with pytest.raises(NonFiniteError, match="'log'") as info:
        find_nonfinite(tape, y, raise_error=True)
    assert "NaN" in info.value.report.forward.detail
    with pytest.raises(TypeError, match="target"):
        find_nonfinite(tape, 3.0)


def test_a_hook_returning_nan_is_noted():
    x = mg.Tensor(rand(2))
    with mg.GradientTape() as tape:
        tape.watch(x)
        h = x * 2.0
        h.register_hook(lambda g: g * np.nan)
        y = h.sum()
    report = find_nonfinite(tape, y, x)
    assert report.forward is None and report.backward is None
    assert "hook" in report.notes[0] and "'multiply'" in report.notes[0]


# -- GradientStats ----------------------------------------------------------------------

def test_gradient_stats_records_every_step_of_fit():
    mg.set_random_seed(3)
    model = small_model(name_prefix="gs_")
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="mse")
    x, y = rand(10, 3), rand(10, 1, seed=2)
    weights = model.trainable_weights
    with mg.GradientTape() as tape:
        loss = model.loss(y, model(x.astype("float32"), training=True))
    expected = tape.gradient(loss, weights)          # the first (only) step's gradients
    stats = GradientStats()
    model.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0, callbacks=[stats])
    assert stats.layers == ["gs_hidden", "gs_out"]
    assert stats.steps == [0]
    want = np.sqrt(np.sum(expected[0] ** 2) + np.sum(expected[1] ** 2))
    assert stats.history["gs_hidden"][0] == pytest.approx(want, rel=1e-5)
    assert stats.weight_gradient_history["gs_out/kernel"][0] == pytest.approx(
        np.linalg.norm(expected[2]), rel=1e-5)
    assert stats.weight_history["gs_out"][0] == pytest.approx(
        np.sqrt(sum(np.sum(w.data.astype(float) ** 2) for w in weights[2:])), rel=1e-6)
    model.fit(x, y, batch_size=3, epochs=2, verbose=0, callbacks=[stats])
    assert len(stats.history["gs_hidden"]) == 1 + 2 * 4
    assert stats.steps == list(range(9))
    assert set(stats.mean_gradient_norms()) == {"gs_hidden", "gs_out"}
    text = str(stats)
    assert "gs_hidden" in text and "grad norm (mean)" in text and "(9 steps recorded)" in text


def test_gradient_stats_every_and_manual_loop():
    model = small_model(name_prefix="ev_")
    model.compile(optimizer="sgd", loss="mse")
    stats = GradientStats(every=2)
    model.fit(rand(12, 3), rand(12, 1), batch_size=2, epochs=1, verbose=0, callbacks=[stats])
    assert stats.steps == [0, 2, 4]
    manual = GradientStats()
    assert str(manual) == "GradientStats: no steps recorded yet."
    with mg.GradientTape() as tape:
        loss = model(rand(4, 3)).sum()
    weights = model.trainable_weights
    manual.record(tape.gradient(loss, weights), weights)
    manual.record([None] * len(weights), weights)            # unconnected: zero
    assert manual.history["ev_out"][1] == 0.0 and manual.steps == [0, 1]
    with pytest.raises(ValueError, match="pair up"):
        manual.record([None], weights)
    with pytest.raises(ValueError, match="every"):
        GradientStats(every=0)
    # fit hands the gradients over through the callback interface, no private attribute
    assert not hasattr(model, "_last_gradients")
    seen = []

    class Spy(mg.callbacks.Callback):
        def on_train_batch_gradients(self, batch, gradients, weights):
            seen.append((batch, [g.shape for g in gradients], weights))
    model.fit(rand(4, 3), rand(4, 1), batch_size=2, epochs=1, verbose=0, callbacks=[Spy()])
    assert [b for b, _, _ in seen] == [0, 1]
    assert seen[0][1] == [w.shape for w in model.trainable_weights]
    assert seen[0][2] == model.trainable_weights
    assert mg.callbacks.GradientStats is GradientStats


def deep_stack_norms(activation, depth=8, width=16):
    mg.set_random_seed(1)
    stack = [layers.Dense(width, activation=activation, input_shape=(width,),
                          name=f"{activation}_0")]
    stack += [layers.Dense(width, activation=activation, name=f"{activation}_{i}")
              for i in range(1, depth)]
    model = Sequential(stack + [layers.Dense(1, name=f"{activation}_head")])
    model.compile(optimizer=optimizers.SGD(learning_rate=1e-3), loss="mse")
    rng = np.random.default_rng(0)
    stats = GradientStats()
    model.fit(rng.normal(size=(48, width)), rng.normal(size=(48, 1)), batch_size=16,
              epochs=1, verbose=0, callbacks=[stats])
    means = stats.mean_gradient_norms()
    return [means[f"{activation}_{i}"] for i in range(depth)]


def test_sigmoid_gradients_vanish_in_a_deep_stack_relu_ones_do_not():
    sigmoid = deep_stack_norms("sigmoid")
    relu = deep_stack_norms("relu")
    sigmoid_ratio = sigmoid[0] / sigmoid[-1]       # first layer vs last hidden layer
    relu_ratio = relu[0] / relu[-1]
    assert sigmoid_ratio < 1e-2 < 0.1 < relu_ratio
    assert sigmoid_ratio < relu_ratio / 100
    assert all(a < b for a, b in zip(sigmoid, sigmoid[1:]))   # shrinking towards the input


# -- plots ------------------------------------------------------------------------------

@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    yield pyplot
    pyplot.close("all")


@pytest.fixture
def trained():
    model = small_model(activation="sigmoid", name_prefix="pl_")
    model.compile(optimizer="sgd", loss="mse")
    stats = GradientStats()
    history = model.fit(rand(12, 3), rand(12, 1), batch_size=4, epochs=3,
                        validation_split=0.25, verbose=0, callbacks=[stats])
    return model, history, stats


def test_plot_gradient_flow(plt, trained):
    from minigrad.plotting import plot_gradient_flow
    _, _, stats = trained
    ax = plot_gradient_flow(stats)
    assert len(ax.patches) == 2 * len(stats.layers)           # max and mean bars
    assert [t.get_text() for t in ax.get_xticklabels()] == stats.layers
    assert ax.get_yscale() == "log"
    fig, own = plt.subplots()
    ax = plot_gradient_flow(stats.history, ax=own, kind="lines", log_scale=False)
    assert ax is own and len(ax.lines) == 2 and ax.get_yscale() == "linear"
    assert list(ax.lines[0].get_ydata()) == stats.history["pl_hidden"]
    with pytest.raises(ValueError, match="kind"):
        plot_gradient_flow(stats, kind="pie")
    with pytest.raises(ValueError, match="no gradient norms"):
        plot_gradient_flow(GradientStats())
    with pytest.raises(TypeError, match="GradientStats"):
        plot_gradient_flow([1, 2])


def test_plot_history(plt, trained):
    from minigrad.plotting import plot_history
    _, history, _ = trained
    ax = plot_history(history)
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["loss", "val_loss"]
    assert ax.lines[0].get_color() == ax.lines[1].get_color()
    assert ax.lines[1].get_linestyle() == "--"
    assert list(ax.lines[0].get_xdata()) == [0, 1, 2]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    ax = plot_history(history.history, keys="val_loss")
    assert [line.get_label() for line in ax.lines] == ["val_loss"]
    with pytest.raises(ValueError, match="available keys"):
        plot_history(history, keys=["accuracy"])


def test_plot_weight_histograms(plt, trained):
    from minigrad.plotting import plot_weight_histograms
    model, _, _ = trained
    axes = plot_weight_histograms(model)
    assert len(axes) == 4
    assert axes[0].get_title().startswith("pl_hidden/kernel")
    fig, own = plt.subplots()
    assert plot_weight_histograms(model.trainable_weights[:2], ax=own) is own
    assert len(own.get_legend().get_texts()) == 2
    with pytest.raises(ValueError, match="no weights"):
        plot_weight_histograms([])
