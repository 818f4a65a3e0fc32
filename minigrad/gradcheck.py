"""Check the tape's gradients against central finite differences, in float64.

For each input x and each element i::

    numeric[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

with f the function's output projected to a scalar by a fixed random vector (so every
output element matters and errors cannot cancel). The tape's gradient must agree
within ``atol + rtol * |numeric|``.
"""
import numpy as np

from .tape import GradientTape
from .tensor import Tensor, Variable


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with finite differences."""


class InputReport:
    """How one input's gradient compared: errors, the worst element and both values there."""

    def __init__(self, position, analytic, numeric):
        self.position = position
        self.analytic = analytic
        self.numeric = numeric
        diff = np.abs(analytic - numeric)
        rel = diff / np.maximum(np.abs(numeric), 1e-12)
        self.max_abs_error = float(diff.max()) if diff.size else 0.0
        self.max_rel_error = float(np.where(diff > 0, rel, 0).max()) if diff.size else 0.0
        worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
        self.worst_index = tuple(int(i) for i in worst)
        self.analytic_at_worst = float(analytic[worst]) if diff.size else 0.0
        self.numeric_at_worst = float(numeric[worst]) if diff.size else 0.0

    def passed(self, atol, rtol):
        return bool(np.all(np.abs(self.analytic - self.numeric) <= atol + rtol * np.abs(self.numeric)))

    def __repr__(self):
        return (f"input {self.position}: max abs error {self.max_abs_error:.3g}, max rel "
                f"error {self.max_rel_error:.3g}, worst index {self.worst_index} "
                f"(tape {self.analytic_at_worst:.8g}, finite differences "
                f"{self.numeric_at_worst:.8g})")


class GradcheckReport(list):
    """A list of :class:`InputReport`, one per input; printable."""

    def __str__(self):
        return "\n".join(repr(r) for r in self)


def _as_float64_input(x):
    """A float64 tensor to differentiate: Variables are converted in place, restored later."""
    if isinstance(x, Variable):
        return x
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.dtype.kind != "f":
        raise TypeError(f"gradcheck inputs must be floating point, got dtype {data.dtype}.")
    return Tensor(np.array(data, dtype=np.float64))


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Compare ``fn``'s tape gradients with central differences for every input.

    fn: called as ``fn(*tensors)``; returns a Tensor (any shape).
    inputs: a list of arrays / Tensors / Variables (or a single one). Arrays and Tensors
        are copied to float64; Variables (e.g. layer weights ``fn`` closes over) are
        switched to float64 for the check and restored afterwards.
    Returns a :class:`GradcheckReport`. Raises :class:`GradcheckError` naming the input,
    the worst index and both values when they disagree (unless ``raise_exception=False``).
    """
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    tensors = [_as_float64_input(x) for x in inputs]
    saved = {}
    for t in tensors:
        # Elements are perturbed in place through a flat view: float64, C-contiguous.
        if isinstance(t, Variable) and (t.dtype != np.float64 or not t.data.flags.c_contiguous):
            saved[id(t)] = t.data
            t.data = np.ascontiguousarray(t.data, dtype=np.float64)
    try:
        return _check(fn, tensors, eps, atol, rtol, seed, raise_exception)
    finally:
        for t in tensors:
            if id(t) in saved:
                t.data = saved[id(t)]


def _check(fn, tensors, eps, atol, rtol, seed, raise_exception):
    with GradientTape() as tape:
        tape.watch(tensors)
        out = fn(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}.")
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    analytic = tape.gradient(out, tensors, output_gradients=weights.astype(out.dtype))

    def scalar():
        return float(np.sum(np.asarray(fn(*tensors).data, dtype=np.float64) * weights))

    report = GradcheckReport()
    for position, t in enumerate(tensors):
        numeric = np.zeros(t.shape)
        flat = t.data.reshape(-1)          # a view: writes perturb the tensor in place
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + eps
            up = scalar()
            flat[i] = original - eps
            down = scalar()
            flat[i] = original
            numeric.flat[i] = (up - down) / (2 * eps)
        grad = analytic[position]
        grad = np.zeros(t.shape) if grad is None else np.asarray(grad, dtype=np.float64)
        entry = InputReport(position, grad, numeric)
        report.append(entry)
        if raise_exception and not entry.passed(atol, rtol):
            raise GradcheckError(f"gradient mismatch for input {position} (shape {t.shape}): "
                                 f"at index {entry.worst_index} the tape gives "
                                 f"{entry.analytic_at_worst!r} but finite differences give "
                                 f"{entry.numeric_at_worst!r} (max abs error "
                                 f"{entry.max_abs_error:.3g}, atol={atol}, rtol={rtol}).")
    return report
