"""Looking inside a backward pass: draw the tape, find where NaN started, log gradient norms.

    dot = tape.to_dot()                        # Graphviz DOT text of the recorded graph
    render_dot(dot, "graph.svg")               # needs the Graphviz ``dot`` program
    report = find_nonfinite(tape, loss, [w])   # first op whose value or gradient went NaN/inf
    print(report)
    stats = GradientStats()                    # a fit callback: per-layer norms every step
    model.fit(x, y, callbacks=[stats])
    stats.history["dense"]                     # gradient norm of layer "dense", step by step

The tools only read what the tape recorded (:class:`~minigrad.tape.TapeEntry`: op name,
inputs, output, the layer that was running) and what
:meth:`~minigrad.GradientTape.backward_steps` yields; they never change a gradient.
Plots of these numbers are in :mod:`minigrad.plotting`.

(Named ``inspection``, not ``inspect``: a file ``minigrad/inspect.py`` would hide Python's
own ``inspect`` module from any Python session started inside ``minigrad/``.)
"""
import os
import shutil
import subprocess

import numpy as np

from .callbacks import GradientStats  # noqa: F401  (its home is callbacks.py)
from .tensor import Tensor, Variable

__all__ = ["tape_to_dot", "render_dot", "GraphvizNotFoundError", "find_nonfinite",
           "NonFiniteReport", "NonFiniteOrigin", "NonFiniteError", "GradientStats"]


# -- drawing the tape -------------------------------------------------------------------

def _dot_string(text):
    """``text`` as a quoted DOT string (line breaks become DOT's ``\\n``)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _shape_text(t):
    return "x".join(str(s) for s in t.shape) or "scalar"


def _tensor_label(t):
    """``name`` (a Variable's ``layer/weight`` path) over ``shape dtype``."""
    name = getattr(t, "path", None) or t.name
    body = f"{_shape_text(t)} {t.dtype}"
    return f"{name}\n{body}" if name else body


def _entries_of(tape):
    """The entries of a tape (or of any iterable of entries), in recording order."""
    return list(tape)


def tape_to_dot(tape, group_layers=True, rankdir="TB", target=None):
    """The graph a tape recorded, as Graphviz DOT text.

    Tensors are boxes labelled with their name (a Variable's ``layer/weight`` path),
    shape and dtype; ops are ovals labelled ``#index op`` and the layer that ran them.
    Edges go input -> op -> output; an op with several inputs numbers its edges by
    argument position (``a @ b``: edge 0 from ``a``, edge 1 from ``b``).

    Args:
        tape (GradientTape or list): the tape (or a list of its entries). A
            non-persistent tape forgets its entries once it has computed gradients: draw
            it before calling ``gradient``, or record with ``persistent=True``.
        group_layers (bool, default True): draw each layer's ops (and its weights) inside
            a box named after it.
        rankdir (str, default "TB"): ``"TB"`` (top to bottom) or ``"LR"`` (left to right).
        target (Tensor or None, default None): a tensor to highlight (e.g. the loss).

    Returns:
        str: the DOT text.
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be one of 'TB', 'LR', 'BT', 'RL'. Received: "
                         f"rankdir={rankdir!r}")
    entries = _entries_of(tape)
    produced = {id(e.output) for e in entries}
    node_of = {}                  # id(tensor) -> node name
    tensors = []                  # (node name, tensor) in first-seen order

    def tensor_node(t):
        key = id(t)
        if key not in node_of:
            node_of[key] = f"t{len(node_of)}"
            tensors.append((node_of[key], t))
        return node_of[key]

    edges = []
    for e in entries:
        op_node = f"op{e.index}"
        several = len(e.inputs) > 1
        for position, t in enumerate(e.inputs):
            attrs = f" [label={_dot_string(position)}]" if several else ""
            edges.append(f"{tensor_node(t)} -> {op_node}{attrs};")
        edges.append(f"{op_node} -> {tensor_node(e.output)};")

    def tensor_statement(node, t):
        attrs = [f"label={_dot_string(_tensor_label(t))}", "shape=box"]
        if target is not None and t is target:
            attrs += ["style=\"filled,bold\"", 'fillcolor="#f6d8d8"']
        elif id(t) not in produced:          # a leaf: a weight, a watched input, a constant
            trainable = isinstance(t, Variable) and t.trainable
            attrs += ["style=filled", f'fillcolor="{"#d8e6f6" if trainable else "#eeeeee"}"']
        return f"{node} [{', '.join(attrs)}];"

    def op_statement(e):
        label = f"#{e.index} {e.op}" + (f"\n{e.layer}" if e.layer else "")
        return f"op{e.index} [label={_dot_string(label)}, shape=ellipse];"

    # Which layer box each node goes in: an op and its output go with the op's layer,
    # a weight with the layer named in its path.
    layer_of_node = {}
    if group_layers:
        for e in entries:
            if e.layer:
                layer_of_node[f"op{e.index}"] = e.layer
                layer_of_node[node_of[id(e.output)]] = e.layer
        layers = set(layer_of_node.values())
        for node, t in tensors:
            path = getattr(t, "path", None)
            if id(t) not in produced and path and "/" in path and path.rsplit("/", 1)[0] in layers:
                layer_of_node[node] = path.rsplit("/", 1)[0]

    statements = {}                          # layer (or None) -> node statements
    for node, t in tensors:
        statements.setdefault(layer_of_node.get(node), []).append(tensor_statement(node, t))
    for e in entries:
        statements.setdefault(layer_of_node.get(f"op{e.index}"), []).append(op_statement(e))

    lines = ["digraph tape {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8];']
    lines += [f"  {s}" for s in statements.pop(None, [])]
    for number, (layer, body) in enumerate(statements.items()):
        lines.append(f"  subgraph cluster_{number} {{")
        lines.append(f"    label={_dot_string(layer)};")
        lines.append('    style=rounded; color="#999999";')
        lines += [f"    {s}" for s in body]
        lines.append("  }")
    lines += [f"  {s}" for s in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphvizNotFoundError(RuntimeError):
    """Raised by :func:`render_dot` when the Graphviz programs are not installed."""


def render_dot(dot, path, format=None, program="dot"):
    """Render DOT text (or a tape) to an image file with Graphviz; returns ``path``.

    Args:
        dot (str or GradientTape): DOT text, or a tape (drawn with :func:`tape_to_dot`).
        path (str or path): the file to write; its extension (``.svg``, ``.png``,
            ``.pdf``) picks the format unless ``format`` is given.
        format (str or None, default None): the output format; None takes the extension.
        program (str, default "dot"): the Graphviz layout program (``"neato"``... also
            work).

    Returns:
        ``path``.

    Raises:
        GraphvizNotFoundError: when ``program`` is not on the PATH (Graphviz is a system
            program, not a Python package: ``apt install graphviz``, ``brew install
            graphviz`` or ``conda install graphviz``).
        ValueError: when Graphviz rejects the text or the format.
    """
    if not isinstance(dot, str):
        dot = tape_to_dot(dot)
    path = os.fspath(path)
    if format is None:
        format = os.path.splitext(path)[1].lstrip(".").lower()
        if not format:
            raise ValueError(f"render_dot: cannot tell the image format from path={path!r}; "
                             "give the file an extension (.svg, .png, .pdf) or pass format=.")
    executable = shutil.which(program)
    if executable is None:
        raise GraphvizNotFoundError(
            f"render_dot needs the Graphviz program {program!r}, which is not on the PATH. "
            "Install Graphviz (apt install graphviz, brew install graphviz or conda install "
            "graphviz), or paste the DOT text into an online Graphviz viewer.")
    result = subprocess.run([executable, f"-T{format}", "-o", path], input=dot.encode(),
                            capture_output=True)
    if result.returncode != 0:
        raise ValueError(f"Graphviz could not render to {path!r} (format {format!r}): "
                         f"{result.stderr.decode(errors='replace').strip()}")
    return path


# -- where did the NaN come from? -------------------------------------------------------

def _is_finite(array):
    """True for arrays without NaN/inf (integer and boolean arrays always are)."""
    if array is None:
        return True
    array = np.asarray(array)
    return array.dtype.kind not in "fc" or bool(np.isfinite(array).all())


def _describe_nonfinite(array):
    """``'NaN in 2 of 6 elements'``, ``'-inf in 1 of 4 elements'``, ..."""
    array = np.asarray(array)
    nan = np.isnan(array)
    posinf, neginf = np.isposinf(array), np.isneginf(array)
    kinds = [name for name, mask in (("NaN", nan), ("inf", posinf), ("-inf", neginf))
             if mask.any()]
    bad = int(np.count_nonzero(nan | posinf | neginf))
    return f"{' and '.join(kinds)} in {bad} of {array.size} element{'s' * (array.size != 1)}"


class NonFiniteOrigin:
    """One tape entry where NaN/inf first appeared from finite values.

    Args:
        stage (str): ``"forward"`` (the op's output value) or ``"backward"`` (a gradient
            it sent).
        entry (TapeEntry): the entry itself; ``.op``, ``.index`` and ``.layer`` (the
            layer running when it was recorded, None outside layers) are copied from it.
        detail (str): which values were non-finite, e.g. ``"-inf in 2 of 4 elements"``.
        input_positions (tuple of int, default ()): backward only: which inputs received
            a non-finite gradient.
    """

    def __init__(self, stage, entry, detail, input_positions=()):
        self.stage = stage
        self.entry = entry
        self.op = entry.op
        self.index = entry.index
        self.layer = entry.layer
        self.detail = detail
        self.input_positions = tuple(input_positions)

    def __str__(self):
        where = f"entry #{self.index} '{self.op}'" + \
            (f" in layer '{self.layer}'" if self.layer else " (outside any layer)")
        if self.stage == "forward":
            return f"forward:  {where} produced {self.detail} from finite inputs"
        inputs = ", ".join(f"{p} ({_shape_text(self.entry.inputs[p])})"
                           for p in self.input_positions)
        plural = "s" if len(self.input_positions) > 1 else ""
        return (f"backward: {where} sent a non-finite gradient ({self.detail}) to input{plural} "
                f"{inputs} although its inputs and the gradient it received were finite")

    def __repr__(self):
        return (f"NonFiniteOrigin(stage={self.stage!r}, op={self.op!r}, index={self.index}, "
                f"layer={self.layer!r})")


class NonFiniteReport:
    """What :func:`find_nonfinite` found; ``print(report)`` explains it.

    Args:
        forward (NonFiniteOrigin or None): the first origin of the forward pass.
        backward (NonFiniteOrigin or None): the first of the backward pass (in backward
            order).
        nonfinite_leaves (list of str): input tensors that were already NaN/inf (the
            problem is in the data or the weights, not in an op).
        notes (list of str): anything else worth knowing (a non-finite seed, a hook that
            returned NaN).
        gradients (list or None): the gradients of ``sources`` when they were given.

    ``report.found`` is True when anything non-finite was seen at all.
    """

    def __init__(self, forward, backward, nonfinite_leaves, notes, gradients):
        self.forward = forward
        self.backward = backward
        self.nonfinite_leaves = list(nonfinite_leaves)
        self.notes = list(notes)
        self.gradients = gradients

    @property
    def found(self):
        return bool(self.forward or self.backward or self.nonfinite_leaves or self.notes)

    def __str__(self):
        if not self.found:
            return "No NaN or inf: every value and every gradient on the tape is finite."
        lines = ["Non-finite values on the tape:"]
        lines += [f"  input already non-finite: {leaf}" for leaf in self.nonfinite_leaves]
        lines += [f"  {origin}" for origin in (self.forward, self.backward) if origin]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self):
        return (f"NonFiniteReport(forward={self.forward!r}, backward={self.backward!r}, "
                f"nonfinite_leaves={len(self.nonfinite_leaves)}, notes={len(self.notes)})")


class NonFiniteError(FloatingPointError):
    """Raised by ``find_nonfinite(..., raise_error=True)``; ``.report`` holds the details.

    Args:
        report (NonFiniteReport): what was found.
    """

    def __init__(self, report):
        super().__init__(str(report))
        self.report = report


def _entries_reaching(entries, target):
    """The entries whose output the target depends on, in recording order."""
    needed, kept = {id(target)}, []
    for e in reversed(entries):
        if id(e.output) in needed:
            kept.append(e)
            needed.update(id(t) for t in e.inputs)
    return kept[::-1]


def find_nonfinite(tape, target, sources=None, output_gradients=None, raise_error=False):
    """Find the first op where NaN or inf appeared, forward and backward.

    Forward: the first entry (in recording order, among those ``target`` depends on)
    whose output holds NaN/inf although all of its inputs are finite. Backward: the
    backward pass is run entry by entry (:meth:`~minigrad.GradientTape.backward_steps`,
    hooks included) and the first entry whose inputs and incoming gradient are finite but
    which sends a non-finite gradient to an input is reported (``sqrt`` at 0, ``log``
    at 0). Ops that merely pass a non-finite forward value on (a matmul fed ``-inf``
    sends ``-inf`` to its weight) are not origins; the report notes the first of them.
    ``log(0)`` in layer ``dense_1`` shows up as op ``'log'``, layer ``'dense_1'`` in both.

    Args:
        tape (GradientTape): the tape that recorded ``target`` (running the backward pass
            uses it up, like ``gradient`` does, unless it is persistent).
        target (Tensor): as for ``tape.gradient``.
        sources (Tensor, list or None, default None): as for ``tape.gradient``.
        output_gradients (array-like or None, default None): as for ``tape.gradient``.
        raise_error (bool, default False): raise :class:`NonFiniteError` (carrying the
            report) instead of returning when anything non-finite was found.

    Returns:
        NonFiniteReport: ``report.found`` is False when all is finite;
        ``report.gradients`` holds the gradients of ``sources``.

    Raises:
        NonFiniteError: with ``raise_error=True``, when anything non-finite was found.

    Example:
        >>> x = mg.Variable([1.0, 0.0], name="x")
        >>> with mg.GradientTape() as tape:
        ...     y = mg.ops.log(x).sum()
        >>> report = find_nonfinite(tape, y)
        >>> report.found, report.forward.op
        (True, 'log')
    """
    if not isinstance(target, Tensor):
        raise TypeError(f"find_nonfinite: `target` must be a Tensor recorded on the tape, "
                        f"got {type(target).__name__}.")
    entries = _entries_reaching(_entries_of(tape), target)
    produced = {id(e.output) for e in entries}

    forward, leaves, seen = None, [], set()
    for e in entries:
        for t in e.inputs:
            if id(t) not in produced and id(t) not in seen:
                seen.add(id(t))
                if not _is_finite(t.data):
                    name = getattr(t, "path", None) or t.name or "unnamed tensor"
                    leaves.append(f"{name} ({_shape_text(t)} {t.dtype}): "
                                  f"{_describe_nonfinite(t.data)}, used by entry #{e.index} "
                                  f"'{e.op}'")
        if forward is None and not _is_finite(e.output.data) and \
                all(_is_finite(t.data) for t in e.inputs):
            forward = NonFiniteOrigin("forward", e, _describe_nonfinite(e.output.data))

    notes = []
    seed = output_gradients.data if isinstance(output_gradients, Tensor) else output_gradients
    sent_nonfinite = output_gradients is not None and not _is_finite(seed)
    if sent_nonfinite:
        notes.append("the seed `output_gradients` itself is not finite")
    backward, passed_on = None, None
    steps = tape.backward_steps(target, sources, output_gradients)
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            gradients = stop.value
            break
        bad = [p for p, g in enumerate(step.grad_inputs) if not _is_finite(g)]
        if not _is_finite(step.grad_output):
            if not sent_nonfinite:       # nothing upstream sent it: a hook or an overflowing sum
                notes.append(f"the gradient arriving at entry #{step.entry.index} "
                             f"'{step.op}' was already non-finite though every op after it "
                             "sent finite gradients (a hook returned it, or adding the "
                             "gradients of several consumers overflowed)")
        elif bad and backward is None:
            origin = NonFiniteOrigin("backward", step.entry,
                                     _describe_nonfinite(step.grad_inputs[bad[0]]), bad)
            # An op fed NaN/inf in the forward pass passes it on backward (x @ w sends
            # g @ x.T to w): that is the forward problem again, not a new origin.
            if all(_is_finite(t.data) for t in step.inputs):
                backward = origin
            elif passed_on is None:
                passed_on = origin
                notes.append(f"the first non-finite gradient came from entry "
                             f"#{origin.index} '{origin.op}'"
                             f"{f' in layer {origin.layer!r}' if origin.layer else ''}, "
                             "whose forward inputs were already non-finite (it passes the "
                             "forward problem on)")
        sent_nonfinite = sent_nonfinite or bool(bad)
    report = NonFiniteReport(forward, backward, leaves, notes, gradients)
    if raise_error and report.found:
        raise NonFiniteError(report)
    return report


# -- gradient statistics during training ------------------------------------------------
