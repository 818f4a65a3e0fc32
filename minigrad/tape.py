"""The tape: records operations while active and replays them backwards.

A :class:`GradientTape` is a list of :class:`TapeEntry` objects, one per operation run
while the tape was active on a tensor the tape is tracking. Each entry holds the op's
name, its input tensors, its output tensor and a ``backward`` function mapping the
gradient of the output to the gradients of the inputs (the chain rule for that op).

``tape.gradient(target, sources)`` walks the entries from last to first, handing each
entry the gradient accumulated for its output and adding what it returns to the
gradients of its inputs. Because every consumer of a tensor was recorded after the op
that produced it, a tensor's gradient is complete by the time the walk reaches its
producer.

Nothing is recorded outside a tape, and a tape records an op only if one of its inputs
is tracked: watched with ``tape.watch``, a trainable :class:`~minigrad.Variable`
(watched automatically), or the output of an op the tape already recorded. How an op
records its entry (``record``, ``TapeEntry``, ``layer_scope``) is :mod:`minigrad.recording`;
those names are importable from here too, as are :func:`format_tape` (what ``print(tape)``
shows) and :class:`BackwardStep` (what ``backward_steps`` yields), from
:mod:`minigrad.tape_views`.
"""
from collections import deque

import numpy as np

from ._kernels.buffers import buffer_of
from .recording import TapeEntry, _state, active_tapes, layer_scope, record  # noqa: F401
from .tape_views import BackwardStep, format_tape
from .tensor import Tensor, as_tensor


_consume = deque(maxlen=0).extend       # runs an iterator to its end, at C speed


class GradientTape:
    """Records operations on tracked tensors so their gradients can be computed.

    >>> x = Tensor(np.array([1.0, 2.0]))
    >>> with GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = (x * x).sum()
    >>> print(tape.gradient(y, x))          # dy/dx = 2x
    [2. 4.]

    ``gradient`` returns Tensors (as TensorFlow does). Tapes nest: a gradient computed
    while another tape records is recorded by that tape, so it can be differentiated
    again (second derivatives, Hessian-vector products; see :func:`minigrad.hvp`)::

        with GradientTape() as outer:
            outer.watch(x)
            with GradientTape() as inner:
                inner.watch(x)
                y = f(x)
            g = inner.gradient(y, x)           # recorded by ``outer``
        h = outer.gradient(g.sum(), x)         # d/dx of sum(dy/dx)

    Args:
        persistent (bool, default False): when False ``gradient`` may be called once,
            after which the tape drops its entries and the tensors it watched; when True
            it may be called any number of times (and, called inside its own ``with``
            block, it records the gradient computation on itself, as TensorFlow's
            persistent tapes do).
        watch_accessed_variables (bool, default True): trainable Variables used inside
            the block are watched automatically.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = bool(persistent)
        self._watch_variables = bool(watch_accessed_variables)
        self._entries = []
        self._tracked = {}        # id -> tensor (the tensor is kept alive so ids stay unique)
        self._watched = {}        # id -> leaf tensor watched explicitly or automatically
        self._used = False
        self._recording = False
        self._stopped = False

    # -- recording ---------------------------------------------------------------
    def __enter__(self):
        if self._recording:
            raise RuntimeError("This GradientTape is already recording; a tape cannot be "
                               "entered twice at the same time.")
        if self._used and not self.persistent:
            raise RuntimeError("This non-persistent GradientTape has already computed "
                               "gradients; create a new tape to record again.")
        self._recording = True
        _state.tapes.append(self)
        return self

    def __exit__(self, *exc):
        self._recording = False
        _state.tapes.remove(self)
        return False

    def _watch(self, t):
        self._tracked[id(t)] = t
        self._watched[id(t)] = t

    def watch(self, tensor):
        """Track ``tensor`` (or each tensor in a list) so ops on it are recorded.

        Args:
            tensor (Tensor or list of Tensor): what to track (a Variable is tracked by
                itself when ``watch_accessed_variables``).
        """
        if isinstance(tensor, (list, tuple)):
            for t in tensor:
                self.watch(t)
            return
        if not isinstance(tensor, Tensor):
            raise TypeError(f"GradientTape.watch expects a Tensor or Variable, got "
                            f"{type(tensor).__name__}. Wrap arrays with mg.Tensor(...) first.")
        if not np.issubdtype(tensor.dtype, np.floating):
            raise TypeError(f"Only floating-point tensors can be watched, got dtype "
                            f"{tensor.dtype}. Convert with mg.Tensor(x.astype('float64')).")
        self._watch(tensor)

    def watched_variables(self):
        """The leaf tensors watched so far, in the order they were first watched (empty
        once a non-persistent tape has computed its gradients and let them go)."""
        return list(self._watched.values())

    def stop_recording(self):
        """Context manager: ops inside it are not recorded by this tape (and trainable
        Variables used inside it are not watched)."""
        return _Pause(self)

    def reset(self):
        """Forget everything recorded so far (watched tensors included); the tape can
        then compute gradients again even when it is not persistent."""
        self._entries = []
        self._tracked = {}
        self._watched = {}
        self._used = False

    # -- inspection --------------------------------------------------------------
    def __iter__(self):
        return iter(list(self._entries))

    def __len__(self):
        return len(self._entries)

    def __getitem__(self, i):
        return self._entries[i]

    def __str__(self):
        return format_tape(self._entries)

    def __repr__(self):
        state = "recording" if self._recording else "stopped"
        return f"<GradientTape {state}, {len(self._entries)} entries, persistent={self.persistent}>"

    # -- differentiation ---------------------------------------------------------
    def _check_can_differentiate(self):
        # Differentiating inside the ``with`` block is allowed (as in TensorFlow).
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute "
                               "one set of gradients; use GradientTape(persistent=True) to "
                               "call gradient() more than once.")

    def _records_gradients(self):
        """True when some tape would record the gradient computation: another tape of
        this thread inside its ``with`` block and not paused, or this one if it is
        persistent and still recording. Then the walk runs on Tensors (see ``record``)."""
        for tape in _state.tapes:
            if not tape._stopped and (tape is not self or self.persistent):
                return True
        return False

    def _seed(self, target, output_gradient, differentiable):
        target = target if isinstance(target, Tensor) else None
        if target is None:
            raise TypeError("gradient() target must be a Tensor produced inside the tape.")
        if output_gradient is None:
            seed = np.ones(target.shape, target.dtype)
            return Tensor(seed) if differentiable else seed
        if differentiable and isinstance(output_gradient, Tensor):
            seed = output_gradient                # a recorded seed: d/d(seed) works too
            if seed.dtype != target.dtype:
                seed = seed.astype(target.dtype)
        else:
            # Not copied; ``_source_grads`` makes sure it never comes back as a gradient.
            seed = np.asarray(output_gradient.data if isinstance(output_gradient, Tensor)
                              else output_gradient, dtype=target.dtype)
            if differentiable:
                seed = Tensor(seed)
        if seed.shape != target.shape:
            raise ValueError(f"output_gradients has shape {seed.shape}, expected the target's "
                             f"shape {target.shape}.")
        return seed

    def _walk(self, grads, target, output_gradient, keep, differentiable):
        """The chain rule, written once: a generator over the entries the target depends
        on, last to first, yielding ``(entry, g, grads_in)`` for each (``g`` the gradient
        of its output, after hooks; ``grads_in`` what its backward returned). It fills
        ``grads`` ({id(tensor): gradient}, the walk's result); ``keep`` holds the ids whose
        gradients the caller wants.

        The gradient of an op output not in ``keep`` is dropped once it has been passed
        on, so memory is freed as the walk goes (leaves are never op outputs: they are
        always kept). ``differentiable`` selects Tensors instead of ndarrays (``record``).
        """
        grads[id(target)] = self._seed(target, output_gradient, differentiable)
        tracked = self._tracked
        hooked = set()                     # tensors whose hooks have run
        pause = self._recording and not self.persistent and not self._stopped
        if pause:                          # this tape never records its own walk
            self._stopped = True
        try:
            entries = self._entries
            for i in range(len(entries) - 1, -1, -1):
                entry = entries[i]
                out = entry.output
                key = id(out)
                g = grads.get(key) if key in keep else grads.pop(key, None)
                if g is None:              # the target does not depend on this entry
                    continue
                if out._hooks:
                    g = _run_hooks(out, g, grads, hooked)
                ins = entry.inputs
                if not entry.twice:
                    grads_in = (entry.backward(g) if not differentiable
                                else _once_differentiable(entry, g))
                elif differentiable:
                    grads_in = entry.backward(g, ins, out)
                else:
                    grads_in = entry.backward(g, entry.values, out.data)
                for t, gi in zip(ins, grads_in):
                    if gi is not None:
                        key = id(t)
                        if key in tracked:     # constants and untracked tensors need nothing
                            previous = grads.get(key)
                            grads[key] = gi if previous is None else previous + gi
                yield entry, g, grads_in
            for leaf in self._watched.values():
                if leaf._hooks and id(leaf) not in hooked and id(leaf) in grads:
                    _run_hooks(leaf, grads[id(leaf)], grads, hooked)
        finally:
            if pause:
                self._stopped = False

    def _run(self, target, output_gradient, keep, differentiable):
        """Run the whole walk; return {id(tensor): gradient}."""
        grads = {}
        _consume(self._walk(grads, target, output_gradient, keep, differentiable))
        return grads

    def gradient(self, target, sources, output_gradients=None):
        """Gradient of ``target`` with respect to ``sources``, as Tensors.

        Args:
            target (Tensor): what is differentiated (recorded by this tape).
            sources (Tensor, list or tuple): a Tensor (returns one Tensor) or a
                list/tuple of Tensors (returns a list). A source the target does not
                depend on gets ``None``.
            output_gradients (array-like or None, default None): a seed with the
                target's shape (None: ones), i.e. compute a vector-Jacobian product.

        Returns:
            Tensor, list or None: as ``sources``.

        Raises:
            RuntimeError: for a second call on a non-persistent tape.

        Non-scalar targets are differentiated as ``target.sum()`` (TensorFlow's rule).
        Gradients have the dtype and shape of their source. When another tape is
        recording, the gradients are Tensors it has recorded (differentiate them again
        for second derivatives); otherwise each one holds a fresh array the caller may
        modify (``.numpy()``).
        """
        self._check_can_differentiate()
        single = isinstance(sources, Tensor)
        source_list = [sources] if single else list(sources)
        for s in source_list:
            if not isinstance(s, Tensor):
                raise TypeError(f"gradient() sources must be Tensors or Variables, got "
                                f"{type(s).__name__}.")
        differentiable = self._records_gradients()
        grads = self._run(target, output_gradients, {id(s) for s in source_list},
                          differentiable)
        self._finish()
        result = _source_grads(grads, source_list, output_gradients, differentiable)
        return result[0] if single else result

    def backward_steps(self, target, sources=None, output_gradients=None):
        """Run the backward pass one entry at a time, yielding a :class:`BackwardStep` each.

        A learner can step through it (``next(steps)``) and see, for every op, the
        incoming gradient and the gradients it sends to its inputs (``None`` for an
        input that needs none). The walk is the one ``gradient`` does, hooks included;
        ``.grad`` is not touched. When the generator is exhausted, the gradients of
        ``sources`` (if given; same rules as ``gradient``) are its return value, i.e.
        the ``value`` of the ``StopIteration``; ``yield from`` hands them over.

        Args:
            target (Tensor): what is differentiated.
            sources (Tensor, list or None, default None): as for :meth:`gradient`.
            output_gradients (array-like or None, default None): as for :meth:`gradient`.

        Returns:
            generator of BackwardStep: its return value holds the gradients of ``sources``.
        """
        self._check_can_differentiate()
        differentiable = self._records_gradients()
        tracked = self._tracked
        keep = set(tracked)                # every gradient stays visible to the learner
        grads = {}
        for entry, g, grads_in in self._walk(grads, target, output_gradients, keep,
                                             differentiable):
            sent = tuple(gi if gi is not None and id(t) in tracked else None
                         for t, gi in zip(entry.inputs, grads_in))
            yield BackwardStep(entry, g, sent)
        self._finish()
        if sources is not None:
            single = isinstance(sources, Tensor)
            out = _source_grads(grads, [sources] if single else list(sources),
                                output_gradients, differentiable)
            return out[0] if single else out

    def _fill_grads(self, target, output_gradient=None):
        """Add to ``.grad`` (an ndarray) of every watched leaf (``Tensor.backward``)."""
        self._check_can_differentiate()
        leaves = list(self._watched.values())
        grads = self._run(target, output_gradient, self._watched.keys(), False)
        self._finish()
        for leaf, g in zip(leaves, _source_grads(grads, leaves, output_gradient, False)):
            if g is not None:
                g = g.data
                leaf.grad = g if leaf.grad is None else leaf.grad + g

    def _finish(self):
        """A used non-persistent tape lets go of everything it recorded and watched."""
        self._used = True
        if not self.persistent:
            self._entries = []
            self._tracked = {}
            self._watched = {}

    # -- drawing and debugging (minigrad/inspection.py) ---------------------------
    def to_dot(self, **options):
        """The recorded graph as Graphviz DOT text: tensors are boxes, ops are ovals
        (options: see :func:`minigrad.inspection.tape_to_dot`).

        Args:
            **options: ``group_layers``, ``rankdir``, ``target`` of
                :func:`~minigrad.inspection.tape_to_dot`.

        Returns:
            str
        """
        from .inspection import tape_to_dot
        return tape_to_dot(self, **options)

    def _repr_svg_(self):
        """Jupyter draws a tape (:func:`minigrad.drawing.draw_tape`); None when it is empty."""
        from .drawing import tape_to_svg
        return tape_to_svg(self) if self._entries else None

    def find_nonfinite(self, target, sources=None, output_gradients=None, raise_error=False):
        """The first op whose value or gradient became NaN/inf; see
        :func:`minigrad.inspection.find_nonfinite` (runs the backward pass).

        Args:
            target (Tensor): as for :meth:`gradient`.
            sources (Tensor, list or None, default None): as for :meth:`gradient`.
            output_gradients (array-like or None, default None): as for :meth:`gradient`.
            raise_error (bool, default False): raise NonFiniteError instead of returning.

        Returns:
            NonFiniteReport
        """
        from .inspection import find_nonfinite
        return find_nonfinite(self, target, sources, output_gradients, raise_error)


class _Pause:
    """What ``GradientTape.stop_recording()`` returns: pauses the tape inside ``with``."""

    def __init__(self, tape):
        self._tape = tape
        self._was_stopped = False

    def __enter__(self):
        self._was_stopped = self._tape._stopped
        self._tape._stopped = True
        return self._tape

    def __exit__(self, *exc):
        self._tape._stopped = self._was_stopped
        return False


def _run_hooks(tensor, g, grads, hooked):
    """Pass ``g`` through ``tensor``'s hooks; a hook's non-None result replaces it."""
    for hook in list(tensor._hooks.values()):
        replaced = hook(g)
        if replaced is not None:
            if isinstance(g, Tensor):          # a walk on Tensors: keep what the hook built
                replaced = as_tensor(replaced)
                if replaced.dtype != g.dtype:
                    replaced = replaced.astype(g.dtype)
            else:
                replaced = np.asarray(replaced.data if isinstance(replaced, Tensor)
                                      else replaced, dtype=g.dtype)
            if replaced.shape != g.shape:
                raise ValueError(f"A gradient hook returned shape {replaced.shape}; the "
                                 f"gradient it replaces has shape {g.shape}.")
            g = replaced
    grads[id(tensor)] = g
    hooked.add(id(tensor))
    return g


def _once_differentiable(entry, g):
    """Run an entry recorded with ``record(..., backward=fn)`` inside a walk on Tensors:
    its gradients come out right, and an enclosing tape records them as one op whose own
    gradient raises (the arrays it was computed from are invisible to the tape)."""
    grads_in = entry.backward(g.data)
    wrapped = []
    for gi in grads_in:
        if gi is None:
            wrapped.append(None)
            continue

        def refuse(_, op=entry.op):
            raise RuntimeError(f"The op {op!r} was recorded with record(..., backward=fn), "
                               "whose gradient is computed on arrays, so it can be "
                               "differentiated only once. Write it with record(..., "
                               "gradient=fn) (see minigrad.tape.record) to differentiate "
                               "its gradient again.")
        wrapped.append(record(f"{entry.op}_gradient", (g,) + tuple(entry.inputs),
                              np.asarray(gi.data if isinstance(gi, Tensor) else gi), refuse))
    return wrapped


def _source_grads(grads, sources, seed=None, differentiable=False):
    """The gradient of each source as a Tensor with its dtype and shape.

    On arrays (no tape recording the walk), every gradient gets a buffer of its own:
    never the same array twice (``add`` hands one array to both inputs), nor the
    caller's own ``seed`` (``output_gradients``) array, nor a read-only broadcast view.
    On Tensors, the broadcast and the cast are recorded ops, so they differentiate too.
    """
    if differentiable:
        from .ops import broadcast_to
        result = []
        for s in sources:
            g = grads.get(id(s))
            if g is not None:
                if g.shape != s.shape:
                    g = broadcast_to(g, s.shape)
                if g.dtype != s.dtype:
                    g = g.astype(s.dtype)
            result.append(g)
        return result
    seed = seed.data if isinstance(seed, Tensor) else seed
    result, handed_out = [], {id(seed)} if isinstance(seed, np.ndarray) else set()
    for s in sources:
        g = grads.get(id(s))
        if g is not None:
            g = np.asarray(g)
            if g.shape != s.shape:         # a gradient broadcast along the way
                g = np.broadcast_to(g, s.shape)
            if g.dtype != s.dtype:
                g = g.astype(s.dtype)
            # A view is copied, unless it views a kernel's own output buffer that no other
            # gradient handed out here views (a large input gradient: saves a full copy).
            buffer = buffer_of(g) if g.base is not None else None
            if (id(g) in handed_out or not g.flags.writeable
                    or (g.base is not None and (buffer is None or id(buffer) in handed_out))):
                g = np.array(g, copy=True)
            elif buffer is not None:
                handed_out.add(id(buffer))
            handed_out.add(id(g))
            g = Tensor(g)
        result.append(g)
    return result


__all__ = ["GradientTape", "TapeEntry", "BackwardStep", "record", "format_tape", "as_tensor",
           "active_tapes", "layer_scope"]
