"""How a learner sees a tape: :func:`format_tape`, the table ``print(tape)`` shows, and
:class:`BackwardStep`, what ``tape.backward_steps`` yields for each entry it runs backwards.
Both are ``minigrad.tape`` names too.
"""
import numpy as np


def format_tape(entries):
    """Render tape entries as a table a learner can read.

    Args:
        entries (list of TapeEntry): a tape's entries (``print(tape)`` shows its own).

    Returns:
        str: one line per entry: index, op, inputs, output (shape and dtype) and layer.
    """
    rows = [("#", "op", "inputs", "output", "layer")]
    for e in entries:
        ins = ", ".join(_short(t) for t in e.inputs)
        rows.append((str(e.index), e.op, ins, _short(e.output), e.layer or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if len(rows) == 1:
        lines.append("(empty tape)")
    return "\n".join(lines)


def _short(t):
    shape = "x".join(str(s) for s in t.shape) or "scalar"
    label = f"{t.name}:" if getattr(t, "name", None) else ""
    return f"{label}{shape} {t.dtype}"



class BackwardStep:
    """What one tape entry did during backward (yielded by ``backward_steps``).

    Args:
        entry (TapeEntry): the entry.
        grad_output (ndarray or Tensor): the gradient that reached its output.
        grad_inputs (tuple): the gradients it sent to its inputs (None where none).
    """

    __slots__ = ("entry", "grad_output", "grad_inputs")

    def __init__(self, entry, grad_output, grad_inputs):
        self.entry = entry
        self.grad_output = grad_output
        self.grad_inputs = grad_inputs

    @property
    def op(self):
        return self.entry.op

    @property
    def inputs(self):
        return self.entry.inputs

    @property
    def output(self):
        return self.entry.output

    def __repr__(self):
        return (f"<BackwardStep {self.op}: grad_output {np.shape(self.grad_output)} -> "
                f"{[None if g is None else np.shape(g) for g in self.grad_inputs]}>")
