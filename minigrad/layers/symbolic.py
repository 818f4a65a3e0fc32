"""Symbolic tensors: what a layer returns when it is called on ``mg.Input(...)``.

The functional API describes a model by calling layers on placeholders::

    inputs = mg.Input((8,))                 # SymbolicTensor, shape (None, 8)
    x = layers.Dense(4)(inputs)             # builds the Dense for (None, 8), no numbers run
    model = mg.Model(inputs, x)

A :class:`SymbolicTensor` has a ``shape`` (None for the batch axis and any free size), a
``dtype`` and a ``name``, and remembers the call that made it: a :class:`Node` (the layer,
its symbolic inputs and outputs, the keyword arguments). Following nodes back from the
outputs gives the graph :class:`~minigrad.Model` runs, in topological order.

Calling a layer on symbolic tensors builds it from the shapes, checks them, and works out
the output shapes: from the layer's own ``compute_output_shape`` when its class defines
one, otherwise by running the layer once on zeros of the input shape (batch of 1, taps
of the tape paused), which is correct for any layer, subclasses included.
"""
import contextlib

import numpy as np

from ..tensor import Tensor

__all__ = ["SymbolicTensor", "Node", "is_symbolic", "flatten"]

_counter = [0]


class SymbolicTensor:
    """A placeholder with a shape and a dtype but no values (Keras's KerasTensor).

    ``mg.Input`` returns one, and calling a layer on one returns another: that is how a
    functional model records its graph.

    Args:
        shape (tuple): with the batch axis; None where unknown.
        dtype (str or numpy dtype): the dtype values will have.
        name (str or None, default None): shown in the summary and error messages.

    Example:
        >>> x = mg.Input((8,))
        >>> y = layers.Dense(3)(x)
        >>> type(y).__name__, y.shape
        ('SymbolicTensor', (None, 3))
    """

    __array_priority__ = 2000

    def __init__(self, shape, dtype, name=None):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        if name is None:
            name = "symbolic_tensor" if not _counter[0] else f"symbolic_tensor_{_counter[0]}"
            _counter[0] += 1
        self.name = name
        self._history = None           # (layer, node_index, tensor_index)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def node(self):
        """The :class:`Node` that produced this tensor."""
        layer, node_index, _ = self._history
        return layer._inbound_nodes[node_index]

    @property
    def layer(self):
        """The layer whose call produced this tensor (an ``InputLayer`` for an Input)."""
        return self._history[0]

    def numpy(self):
        raise TypeError(f"SymbolicTensor '{self.name}' (shape {self.shape}) has no value: it "
                        "is a placeholder for building a model with mg.Model(inputs, outputs). "
                        "Build the model, then call it on arrays (model(x) or "
                        "model.predict(x)) to get numbers.")

    def __array__(self, dtype=None, copy=None):
        self.numpy()

    def __len__(self):
        raise TypeError(f"SymbolicTensor '{self.name}' has no length; its shape is "
                        f"{self.shape}.")

    def __bool__(self):
        raise TypeError(f"SymbolicTensor '{self.name}' has no truth value (it has no data).")

    def _no_arithmetic(self, *args):
        raise TypeError(f"Arithmetic on SymbolicTensor '{self.name}' is not supported: use "
                        "the merge layers (layers.Add()([a, b]), layers.Multiply(), ...) or "
                        "write the computation in a Layer subclass's call().")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _no_arithmetic
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = __pow__ = _no_arithmetic
    __getitem__ = _no_arithmetic

    def __repr__(self):
        made_by = f", made by '{self._history[0].name}'" if self._history else ""
        return (f"<SymbolicTensor shape={self.shape}, dtype={self.dtype.name}, "
                f"name={self.name!r}{made_by}>")


class Node:
    """One call of a layer on symbolic tensors.

    ``arguments`` is the structure the layer was called with (one tensor, a list, a tuple
    or a dict); ``input_tensors`` its symbolic tensors in order; ``outputs`` the returned
    structure and ``output_tensors`` its tensors; ``kwargs`` the other call arguments
    (``training=`` when given explicitly). An Input's node has no inputs.

    Args:
        layer (Layer): the layer called.
        arguments (SymbolicTensor, list, tuple or dict): what it was called with.
        outputs (SymbolicTensor, list, tuple or dict): what it returned.
        kwargs (dict or None, default None): the other call arguments.
    """

    def __init__(self, layer, arguments, outputs, kwargs=None):
        self.layer = layer
        self.arguments = arguments
        self.input_tensors = flatten(arguments) if arguments is not None else []
        self.outputs = outputs
        self.output_tensors = flatten(outputs)
        self.kwargs = dict(kwargs or {})
        layer._inbound_nodes.append(self)
        index = len(layer._inbound_nodes) - 1
        for i, t in enumerate(self.output_tensors):
            t._history = (layer, index, i)

    @property
    def is_input(self):
        return self.arguments is None

    @property
    def parent_nodes(self):
        return [t.node for t in self.input_tensors]

    def fill_in(self, values):
        """The call arguments with each symbolic tensor replaced by ``values[id(t)]``."""
        return _map_structure(lambda t: values[id(t)], self.arguments)

    def __repr__(self):
        ins = ", ".join(t.name for t in self.input_tensors)
        return f"<Node {self.layer.name}({ins})>"


def flatten(structure):
    """The tensors of a tensor, list, tuple or dict (dict values in key order), in order.

    Args:
        structure (tensor, list, tuple or dict): nested one level.

    Returns:
        list
    """
    if isinstance(structure, (list, tuple)):
        return [t for item in structure for t in flatten(item)]
    if isinstance(structure, dict):
        return [t for key in structure for t in flatten(structure[key])]
    return [structure]


def _map_structure(fn, structure):
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map_structure(fn, item) for item in structure)
    if isinstance(structure, dict):
        return {key: _map_structure(fn, value) for key, value in structure.items()}
    return fn(structure)


def is_symbolic(inputs):
    """True if ``inputs`` (a tensor or a list/tuple/dict of them) holds a SymbolicTensor.

    Args:
        inputs (tensor, list, tuple or dict): what a layer was called with.

    Returns:
        bool
    """
    if isinstance(inputs, SymbolicTensor):
        return True
    if isinstance(inputs, (list, tuple, dict)):
        return any(isinstance(t, SymbolicTensor) for t in flatten(inputs))
    return False


def make_input(layer, name=None):
    """The symbolic tensor an InputLayer starts a graph with (its node has no inputs).

    Args:
        layer (InputLayer): the input layer.
        name (str or None, default None): None uses the layer's name.

    Returns:
        SymbolicTensor
    """
    tensor = SymbolicTensor(layer.batch_input_shape, layer.dtype, name=name or layer.name)
    Node(layer, None, tensor)
    return tensor


@contextlib.contextmanager
def _tapes_paused():
    """Active tapes do not record (or watch weights) inside this block."""
    from .. import tape as tape_module
    with contextlib.ExitStack() as stack:
        for tape in tape_module.active_tapes():
            stack.enter_context(tape.stop_recording())
        yield


def _overrides_output_shape(layer):
    from .base import Layer
    return type(layer).compute_output_shape is not Layer.compute_output_shape


def _shape_structure(inputs):
    return _map_structure(lambda t: t.shape, inputs)


def _zeros_like_spec(structure, size):
    """Zero Tensors with each None in a shape replaced by 1 (batch) or ``size``."""
    def zeros(t):
        shape = tuple((1 if i == 0 else size) if s is None else s for i, s in enumerate(t.shape))
        return Tensor(np.zeros(shape, dtype=t.dtype))
    return _map_structure(zeros, structure)


def _run_on_zeros(layer, inputs, kwargs):
    """Output shapes and dtypes found by running ``layer`` on zeros (twice if some sizes
    are free: a size that changes between the runs is free in the output too)."""
    free = any(s is None for t in flatten(inputs) for s in t.shape[1:])
    runs = []
    for size in ((2, 3) if free else (1,)):
        with _tapes_paused(), np.errstate(all="ignore"):
            # shapes only: inference mode, even where the call pins training=True
            out = layer(_zeros_like_spec(inputs, size), **{**kwargs, "training": False})
        runs.append(out)
    first = flatten(runs[0])
    result = []
    for i, t in enumerate(first):
        shape = (None,) + tuple(t.shape[1:])
        if free:
            other = flatten(runs[1])[i].shape
            shape = (None,) + tuple(s if s == o else None for s, o in zip(t.shape[1:], other[1:]))
        result.append((shape, t.dtype))
    return _rebuild_like(runs[0], result)


def _rebuild_like(structure, items):
    items = iter(items)
    return _map_structure(lambda _: next(items), structure)


def output_specs(layer, inputs, kwargs):
    """The ``(shape, dtype)`` structure a call of ``layer`` on ``inputs`` returns.

    Args:
        layer (Layer): the layer.
        inputs (SymbolicTensor or structure): the symbolic inputs.
        kwargs (dict): the other call arguments.

    Returns:
        the structure of ``(shape, dtype)`` pairs.
    """
    if _overrides_output_shape(layer):
        shapes = layer.compute_output_shape(_shape_structure(inputs))
        dtype = layer.dtype
        if _is_shape(shapes):
            return (tuple(shapes), dtype)
        return _map_shapes(shapes, dtype)
    return _run_on_zeros(layer, inputs, kwargs)


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        s is None or isinstance(s, (int, np.integer)) for s in value)


def _map_shapes(shapes, dtype):
    if _is_shape(shapes):
        return (tuple(shapes), dtype)
    if isinstance(shapes, dict):
        return {k: _map_shapes(v, dtype) for k, v in shapes.items()}
    return [_map_shapes(s, dtype) for s in shapes]


def _is_spec(value):
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], np.dtype)


def symbolic_call(layer, inputs, kwargs):
    """Call ``layer`` on symbolic ``inputs``: build it, check the shapes, record a Node and
    return symbolic outputs of the right shapes.

    Args:
        layer (Layer): the layer.
        inputs (SymbolicTensor or structure): the symbolic inputs.
        kwargs (dict): the other call arguments (``training=``...).

    Returns:
        SymbolicTensor or structure of them.
    """
    flat = flatten(inputs)
    for t in flat:
        if not isinstance(t, SymbolicTensor):
            raise TypeError(f"Layer '{layer.name}' was called on a mix of symbolic tensors "
                            f"and values ({type(t).__name__}); in a functional model every "
                            "input of a layer must come from mg.Input(...) or another layer.")
    was_built = layer.built
    shapes = _shape_structure(inputs)
    try:
        if not was_built:
            layer._build_with(shapes if isinstance(inputs, (list, tuple, dict)) else
                              inputs.shape)
        elif layer.input_spec is not None and isinstance(inputs, SymbolicTensor):
            layer.input_spec.check(layer.name, inputs.shape)
        specs = output_specs(layer, inputs, kwargs)
    except (ValueError, TypeError) as e:
        if not was_built:
            raise
        raise ValueError(f"Layer '{layer.name}' is already built for inputs of shape "
                         f"{layer._build_shape} and cannot be reused on an input of shape "
                         f"{shapes}: {e}") from None
    outputs = _map_structure_specs(specs)
    Node(layer, inputs, outputs, kwargs)
    return outputs


def _map_structure_specs(specs):
    if _is_spec(specs):
        return SymbolicTensor(specs[0], specs[1])
    if isinstance(specs, dict):
        return {k: _map_structure_specs(v) for k, v in specs.items()}
    return type(specs)(_map_structure_specs(s) for s in specs)
