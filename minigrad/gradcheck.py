"""Check the tape's gradients against central finite differences, in float64.

For each input x and each element i::

    numeric[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

with f the function's output projected to a scalar by a fixed random vector (so every
output element matters and errors cannot cancel). The tape's gradient must agree
within ``atol + rtol * |numeric|``.

:func:`gradgradcheck` does the same one level up: the function checked is "the tape's
gradient of ``fn``" (projected the same way), so the tape's second derivatives (an outer
tape recording an inner tape's gradient) are compared with central differences of the
tape's first derivatives. :func:`hvp` and :func:`hessian` are the helpers a learner
reaches for once gradients can be differentiated.

Everything runs in float64: the inputs are copied to float64 and float32 Variables the
function uses (layer weights) are switched to float64 for the check. Finite differences
in float32 cannot check anything (with eps ~ 1e-3 the truncation error and the rounding
error are both ~1e-3 relative); where ``fn`` itself computes in float32 (a layer built
with ``dtype="float32"`` casts its input), the check stops with an error that says so.
"""
import numpy as np

from .tape import GradientTape
from .tensor import Tensor, Variable


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with finite differences."""


class InputReport:
    """How one input's gradient compared: errors, the worst element and both values there.

    Args:
        position (int): the input's index in ``inputs``.
        analytic (ndarray): the tape's gradient.
        numeric (ndarray): the finite-difference gradient.
    """

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
    """A list of :class:`InputReport`, one per input; printable.

    Built by :func:`gradcheck`; takes what ``list`` takes.
    """

    def __str__(self):
        return "\n".join(repr(r) for r in self)


def _as_float64_input(x):
    """A float64 C-contiguous tensor to differentiate (elements are perturbed in place
    through a flat view, which only a C-contiguous array gives: a transposed input
    would be perturbed in a copy, and every difference would come out 0). Variables are
    converted in place, restored later."""
    if isinstance(x, Variable):
        return x
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.dtype.kind != "f":
        raise TypeError(f"gradcheck inputs must be floating point, got dtype {data.dtype}.")
    return Tensor(np.array(data, dtype=np.float64, order="C"))


def _variables_used(fn, tensors):
    """The Variables ``fn`` reads (inputs of the ops it records), found by one call."""
    with GradientTape() as probe:
        probe.watch(tensors)
        fn(*tensors)
    found = {id(v): v for v in probe.watched_variables() if isinstance(v, Variable)}
    for entry in probe:
        for t in entry.inputs:
            if isinstance(t, Variable):
                found[id(t)] = t
    return list(found.values()), list(probe)


def _in_float64(fn, tensors, what):
    """Switch the float32 Variables ``fn`` uses to float64 (and every Variable to a
    C-contiguous buffer); return {id: original array} for the caller to restore."""
    saved = {}
    variables, _ = _variables_used(fn, tensors)
    for t in list(tensors) + variables:
        if isinstance(t, Variable) and id(t) not in saved and t.dtype.kind == "f" and (
                t.dtype != np.float64 or not t.data.flags.c_contiguous):
            saved[id(t)] = (t, t.data)
            t.data = np.ascontiguousarray(t.data, dtype=np.float64)
    try:
        _, entries = _variables_used(fn, tensors)
    except BaseException:
        _restore(saved)
        raise
    for entry in entries:
        if entry.output.dtype.kind == "f" and entry.output.dtype.itemsize < 8:
            _restore(saved)
            where = f" in layer '{entry.layer}'" if entry.layer else ""
            raise TypeError(
                f"{what} runs in float64, but fn still computes in {entry.output.dtype} "
                f"at op #{entry.index} '{entry.op}'{where}: finite differences in "
                f"{entry.output.dtype} are too coarse to check a gradient. A layer built "
                "with dtype='float32' casts its input to float32; build the layers to "
                "check with dtype='float64'.")
    return saved


def _restore(saved):
    for t, data in saved.values():
        t.data = data


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Compare ``fn``'s tape gradients with central differences for every input.

    fn: called as ``fn(*tensors)``; returns a Tensor (any shape).
    inputs: a list of arrays / Tensors / Variables (or a single one). Arrays and Tensors
        are copied to float64; Variables (e.g. layer weights ``fn`` closes over) are
        switched to float64 for the check and restored afterwards.
    Returns a :class:`GradcheckReport`. Raises :class:`GradcheckError` naming the input,
    the worst index and both values when they disagree (unless ``raise_exception=False``).

    Args:
        fn (callable): called as ``fn(*tensors)``; returns a Tensor (any shape).
        inputs (list or array-like): arrays, Tensors or Variables (or a single one). Arrays
            and Tensors are copied to float64; Variables (layer weights ``fn`` closes over)
            are switched to float64 for the check and restored afterwards.
        eps (float, default 1e-06): the step of the central differences.
        atol (float, default 1e-05): the absolute tolerance.
        rtol (float, default 0.0001): the relative tolerance: an element passes when
            |tape - numeric| <= atol + rtol |numeric|.
        seed (int, default 0): seeds the random projection ``w`` of a non-scalar output.
        raise_exception (bool, default True): raise on a mismatch instead of returning.

    Returns:
        GradcheckReport: one :class:`InputReport` per input.

    Raises:
        GradcheckError: naming the input, the worst index and both values, when they
            disagree (unless ``raise_exception=False``).

    Example:
        >>> report = mg.gradcheck(lambda x: (x * x).sum(), [np.array([1.0, 2.0])])
        >>> len(report), report[0].max_abs_error < 1e-6
        (1, True)
    """
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    tensors = [_as_float64_input(x) for x in inputs]
    saved = _in_float64(fn, tensors, "gradcheck")
    try:
        return _check(fn, tensors, eps, atol, rtol, seed, raise_exception)
    finally:
        _restore(saved)


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Compare the tape's second derivatives of ``fn`` with central differences of its
    first derivatives, for every input (same arguments, report and error as
    :func:`gradcheck`, whose form it has).

    The function checked is ``G(x) = [d(w . fn(x))/dx_1, d(w . fn(x))/dx_2, ...]`` (the
    gradients of ``fn``'s output projected by a fixed random ``w``, flattened and joined):
    its tape gradient needs a tape recording another tape's gradient computation, and its
    finite differences need only first derivatives. A mismatch names the input perturbed,
    the worst index in it, and both values.

    Args:
        fn (callable): called as ``fn(*tensors)``; returns a Tensor (any shape).
        inputs (list or array-like): arrays, Tensors or Variables (or a single one). Arrays
            and Tensors are copied to float64; Variables (layer weights ``fn`` closes over)
            are switched to float64 for the check and restored afterwards.
        eps (float, default 1e-06): the step of the central differences.
        atol (float, default 1e-05): the absolute tolerance.
        rtol (float, default 0.0001): the relative tolerance: an element passes when
            |tape - numeric| <= atol + rtol |numeric|.
        seed (int, default 0): seeds the random projection ``w`` of a non-scalar output.
        raise_exception (bool, default True): raise on a mismatch instead of returning.

    Returns:
        GradcheckReport: one :class:`InputReport` per input.

    Raises:
        GradcheckError: naming the input, the worst index and both values, when they
            disagree (unless ``raise_exception=False``).

    Example:
        >>> report = mg.gradgradcheck(lambda x: (x * x * x).sum(), [np.array([1.0, 2.0])])
        >>> report[0].max_abs_error < 1e-6
        True
    """
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    tensors = [_as_float64_input(x) for x in inputs]
    saved = _in_float64(fn, tensors, "gradgradcheck")
    try:
        probe = fn(*tensors)
        if not isinstance(probe, Tensor):
            raise TypeError(f"gradgradcheck: fn must return a Tensor, got "
                            f"{type(probe).__name__}.")
        weights = Tensor(np.random.default_rng(seed + 1).uniform(0.5, 1.5, probe.shape))

        def first_derivatives(*xs):
            from . import ops
            with GradientTape() as inner:
                inner.watch(list(xs))
                out = fn(*xs)
            grads = inner.gradient(out, list(xs), output_gradients=weights)
            return ops.concatenate([(ops.reshape(g, -1) if g is not None
                                     else Tensor(np.zeros(x.size))) for g, x in zip(grads, xs)])
        return _check(first_derivatives, tensors, eps, atol, rtol, seed, raise_exception,
                      what="second-derivative")
    finally:
        _restore(saved)


def _check(fn, tensors, eps, atol, rtol, seed, raise_exception, what="gradient"):
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
            raise GradcheckError(f"{what} mismatch for input {position} (shape {t.shape}): "
                                 f"at index {entry.worst_index} the tape gives "
                                 f"{entry.analytic_at_worst!r} but finite differences give "
                                 f"{entry.numeric_at_worst!r} (max abs error "
                                 f"{entry.max_abs_error:.3g}, atol={atol}, rtol={rtol}).")
    return report


def _scalar_output(f, x, name):
    y = f(x)
    if not isinstance(y, Tensor) or y.size != 1:
        raise ValueError(f"{name}: f must return a scalar Tensor, got "
                         f"{getattr(y, 'shape', type(y).__name__)}.")
    return y


def hvp(f, x, v):
    """The Hessian-vector product ``H v`` of a scalar function ``f`` at ``x``, as a Tensor.

    Two nested tapes: the inner one gives ``g = df/dx`` (recorded by the outer one), the
    outer one differentiates ``sum(g * v)``, whose gradient is ``H v`` because ``v`` is a
    constant. That costs about two backward passes whatever the size of ``x``; the
    Hessian itself would need one such product per element of ``x``.

    f: a function of one Tensor returning a scalar Tensor. x, v: arrays or Tensors of
    the same shape (``x``'s dtype is kept; use float64 to compare with finite differences).

    Args:
        f (callable): a function of one Tensor returning a scalar Tensor.
        x (Tensor or array-like): the point.
        v (Tensor or array-like): the vector, ``x``'s shape.

    Returns:
        Tensor: ``H v``, ``x``'s shape.

    Raises:
        ValueError: if ``v``'s shape is not ``x``'s, or ``f`` does not return a scalar.

    Example:
        >>> f = lambda x: (x ** 3).sum()
        >>> mg.hvp(f, np.array([1.0, 2.0]), np.array([1.0, 0.0])).numpy().tolist()
        [6.0, 0.0]
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    v = np.asarray(v.data if isinstance(v, Tensor) else v)
    if v.shape != x.shape:
        raise ValueError(f"hvp: v has shape {v.shape}, expected x's shape {x.shape}.")
    with GradientTape() as outer:
        outer.watch(x)
        with GradientTape() as inner:
            inner.watch(x)
            y = _scalar_output(f, x, "hvp")
        g = inner.gradient(y, x)
        if g is None:                      # f does not depend on x
            return Tensor(np.zeros(x.shape, x.dtype))
        gv = (g * v.astype(x.dtype, copy=False)).sum()
    result = outer.gradient(gv, x)
    return Tensor(np.zeros(x.shape, x.dtype)) if result is None else result


def hessian(f, x):
    """The Hessian of a scalar function ``f`` at ``x`` (for small inputs), as a Tensor of
    shape ``x.shape + x.shape``: one :func:`hvp` per element of ``x`` (with the unit
    vectors), i.e. N products for N elements.

    Args:
        f (callable): a function of one Tensor returning a scalar Tensor.
        x (Tensor or array-like): the point (small: N elements cost N products).

    Returns:
        Tensor: of shape ``x.shape + x.shape``.

    Example:
        >>> mg.hessian(lambda x: (x ** 3).sum(), np.array([1.0, 2.0])).numpy().tolist()
        [[6.0, 0.0], [0.0, 12.0]]
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    rows = []
    for i in range(x.size):
        e = np.zeros(x.size, x.dtype)
        e[i] = 1
        rows.append(hvp(f, x, e.reshape(x.shape)).numpy())
    return Tensor(np.stack(rows).reshape(x.shape + x.shape))
