"""Recording: what every op leaves on the tapes that are watching.

An op computes its result with NumPy and hands it to :func:`record` with its inputs and its
chain rule; ``record`` wraps the result in a Tensor and, for each tape of this thread that
tracks one of the inputs, appends a :class:`TapeEntry`. :class:`layer_scope` names the layer
the entries belong to. The tapes themselves, and the backward walk over their entries, are in
:mod:`minigrad.tape`, which re-exports these names.
"""
import threading

import numpy as np

from .tensor import Tensor, Variable


class _ThreadState(threading.local):
    """What the tape machinery remembers, kept per thread (as TensorFlow does): a tape
    entered in one thread never sees the ops another thread runs at the same time.

    tapes: the tapes currently inside their ``with`` block in this thread, innermost last.
    layers: names of the layers currently running in this thread (innermost last); tape
        entries remember the innermost one, so a bad gradient can be traced to its layer.
    """

    def __init__(self):
        self.tapes = []
        self.layers = []


_state = _ThreadState()


def active_tapes():
    """The tapes recording in the calling thread, innermost last (a copy)."""
    return list(_state.tapes)


def needs_gradient(t):
    """A question for an op's gradient function to ask during the backward pass: is the
    gradient of its input ``t`` used? Made when the op runs, it returns a function that
    answers whether one of the tapes recording then tracks ``t`` by the time the gradient
    is computed (tapes drop the gradients of what they do not track). An op whose input is
    data no tape follows (a model's first convolution) then skips that input's gradient.
    """
    tapes = [tape for tape in _state.tapes if not tape._stopped]
    return lambda: any(id(t) in tape._tracked for tape in tapes)


class layer_scope:
    """Context manager: ops run inside it are recorded as belonging to layer ``name``
    (in the calling thread only). A class rather than a generator: every layer call
    enters one, and this costs a third as much.

    Args:
        name (str): the layer's name.
    """

    __slots__ = ("name", "layers")

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.layers = _state.layers
        self.layers.append(self.name)

    def __exit__(self, *exc):
        self.layers.pop()
        return False


class TapeEntry:
    """One recorded operation: ``output = op(*inputs)`` and how to differentiate it.

    Args:
        op (str): the op's name.
        inputs (tuple of Tensor): its inputs.
        output (Tensor): its output.
        backward (callable): the chain rule, as given to :func:`record`.
        layer (str or None): the layer running when it was recorded (None outside).
        index (int): its position on the tape.
        twice (bool, default False): True when ``backward`` is written with
            differentiable ops (``record(..., gradient=fn)``), so that the gradient
            computation can itself be recorded.
        values (tuple or None, default None): the inputs' arrays when recorded (a
            Variable may change later).
    """

    __slots__ = ("op", "inputs", "output", "backward", "layer", "index", "twice", "values")

    def __init__(self, op, inputs, output, backward, layer, index, twice=False, values=None):
        self.op = op
        self.inputs = inputs
        self.output = output
        self.backward = backward
        self.layer = layer
        self.index = index
        self.twice = twice
        self.values = values      # the inputs' arrays when recorded (a Variable may change)

    @property
    def outputs(self):
        return (self.output,)

    @property
    def input_shapes(self):
        return tuple(t.shape for t in self.inputs)

    @property
    def output_shape(self):
        return self.output.shape

    def __repr__(self):
        ins = ", ".join(str(s) for s in self.input_shapes)
        where = f" in {self.layer}" if self.layer else ""
        return f"<TapeEntry #{self.index} {self.op}({ins}) -> {self.output_shape}{where}>"


def record(op, inputs, out, backward=None, gradient=None):
    """Wrap ``out`` (an ndarray) in a Tensor and record the op on every interested tape.

    ``inputs`` is the tuple of input Tensors. Give the chain rule in one of two forms:

    Args:
        op (str): the op's name, shown in tape listings, drawings and error messages.
        inputs (tuple of Tensor): the input Tensors.
        out (ndarray): the forward result.
        backward (callable or None, default None): ``backward(g)`` returns one gradient
            (ndarray or None) per input, computed on arrays (closing over whatever the
            forward pass kept). Simplest to write, but differentiable only once:
            differentiating the gradient it made raises an error naming the op.
        gradient (callable or None, default None): ``gradient(g, inputs, out)`` returns
            one gradient (or None) per input, written with operators and differentiable
            ops only. The tape calls it with plain ndarrays (``g``, the inputs' and the
            output's arrays) when no other tape is recording, which costs what NumPy
            costs; and with the Tensors themselves when an enclosing tape is recording,
            which then records the gradient computation too, so the gradient can be
            differentiated again. Every op in :mod:`minigrad.ops` does this.

    Returns:
        Tensor: ``out`` wrapped.

    A tape is interested when one of the inputs is tracked by it; trainable Variables
    among the inputs are watched on the way (all of them, not just the first).
    """
    # Every op of every forward pass comes through here, so it is written for speed:
    # no Tensor.__init__ (``out`` is already an array) and a plain loop over the tapes.
    if type(out) is not np.ndarray:        # NumPy gives scalars for 0-d results
        out = np.asarray(out)
    result = Tensor.__new__(Tensor)
    result.data = out
    result.grad = result.name = result._tape = result._hooks = None
    values = None
    for tape in _state.tapes:              # usually none or one
        if tape._stopped:
            continue
        tracked = tape._tracked
        connected = False
        for t in inputs:
            if id(t) in tracked:
                connected = True
            elif tape._watch_variables and isinstance(t, Variable) and t.trainable:
                tape._watch(t)
                connected = True
        if connected:
            entries = tape._entries
            layers = _state.layers
            if gradient is not None:
                if values is None:
                    n = len(inputs)
                    values = ((inputs[0].data,) if n == 1 else
                              (inputs[0].data, inputs[1].data) if n == 2 else
                              tuple([t.data for t in inputs]))
                entry = TapeEntry(op, inputs, result, gradient, layers[-1] if layers else None,
                                  len(entries), True, values)
            else:
                entry = TapeEntry(op, inputs, result, backward, layers[-1] if layers else None,
                                  len(entries))
            entries.append(entry)
            tracked[id(result)] = result
            result._tape = tape
    return result
