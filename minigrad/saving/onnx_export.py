"""``model.export("net.onnx", format="onnx")``: a model as an ONNX graph for deployment.

The graph is built with the ``onnx`` package (opset 17) and checked with
``onnx.checker`` before it is written. It takes the model's own input layout
(channels_last stays ``(batch, ..., channels)``) with a dynamic batch axis, and keeps each
layer's name on its nodes (``separable_conv2d/depthwise``, ``separable_conv2d/pointwise``...)
so a graph viewer shows the model you built.

How each layer becomes ONNX operators (depthwise as a grouped ``Conv`` in Keras's channel
order, explicit ``pads``, ...) is in ``minigrad/saving/onnx_layers.py``. A layer or activation
with no ONNX counterpart there is refused with a ``ValueError`` naming it, and no file is
written.
"""
import os

import numpy as np

from .files import atomic_write
from .onnx_layers import emit_layer, emit_merge
from .optional import require

__all__ = ["export_onnx", "to_onnx"]

OPSET = 17


class _Graph:
    """Nodes and constant tensors of the graph under construction."""

    def __init__(self, onnx, dtype):
        self.onnx, self.dtype = onnx, np.dtype(dtype)
        self.nodes, self.initializers, self._used = [], [], set()

    def unique(self, base):
        name, i = base, 1
        while name in self._used:
            name, i = f"{base}_{i}", i + 1
        self._used.add(name)
        return name

    def const(self, value, base, dtype=None):
        array = np.asarray(value, dtype=dtype or self.dtype)
        name = self.unique(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, base, **attrs):
        name = self.unique(base)
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [name], name=name,
                                                     **attrs))
        return name


def _value_info(onnx, name, shape, dtype):
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    dims = ["batch" if i == 0 else (f"{name}_dim{i}" if s is None else int(s))
            for i, s in enumerate(shape)]
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def _emit_graph(g, model):
    """Inputs, output names and shapes of a functional model, nodes in running order."""
    from ..layers.merging import Merge
    graph = model._graph
    names, inputs = {}, []
    for t in graph.inputs:
        names[id(t)] = g.unique(t.layer.name)
        inputs.append((names[id(t)], t.shape))
    for node in graph.nodes:
        if node.is_input:
            continue
        xs = [names[id(t)] for t in node.input_tensors]
        if isinstance(node.layer, Merge):
            y = emit_merge(g, node.layer, xs)
        elif len(xs) == 1:
            y = emit_layer(g, node.layer, xs[0], tuple(node.input_tensors[0].shape))
        else:
            raise ValueError(f"Cannot export layer '{node.layer.name}' to ONNX: it is called "
                             f"on {len(xs)} tensors.")
        if len(node.output_tensors) != 1:
            raise ValueError(f"Cannot export layer '{node.layer.name}' to ONNX: it has "
                             f"{len(node.output_tensors)} outputs.")
        names[id(node.output_tensors[0])] = y
    outputs = [(names[id(t)], t.shape, t.layer.name) for t in graph.outputs]
    return inputs, outputs


def to_onnx(model):
    """``model`` as an ``onnx.ModelProto`` (checked with ``onnx.checker``).

    Args:
        model (Model): a built model.

    Returns:
        onnx.ModelProto

    Raises:
        ValueError: for a model that is not built or not Sequential / functional, or a
            layer the exporter does not know (named in the message).
    """
    onnx = require("onnx", "ONNX export")
    from ..models import Functional, Sequential
    if not getattr(model, "built", False):
        raise ValueError(f"Cannot export '{model.name}' to ONNX: it is not built yet.")
    if not isinstance(model, (Sequential, Functional)):
        raise ValueError(f"Cannot export '{model.name}' to ONNX: it is a subclassed model "
                         f"({type(model).__name__}), whose call() is Python code, not a "
                         "graph. Build it as a functional or Sequential model to export.")
    dtype = model.weights[0].dtype if model.weights else np.float32
    g = _Graph(onnx, dtype)
    if isinstance(model, Sequential):
        shape = tuple(model.input_shape)
        input_layer = getattr(model, "_input_layer", None)
        input_name = g.unique(input_layer.name if input_layer is not None else "input")
        x = emit_layer(g, model, input_name, shape)
        inputs = [(input_name, shape)]
        outputs = [(x, tuple(model.compute_output_shape(shape)), "output")]
    else:
        inputs, outputs = _emit_graph(g, model)
    out_infos = []
    for x, shape, base in outputs:
        name = g.op("Identity", [x], base if len(outputs) > 1 else "output")
        out_infos.append(_value_info(onnx, name, shape, dtype))
    graph = onnx.helper.make_graph(g.nodes, model.name,
                                   [_value_info(onnx, n, s, dtype) for n, s in inputs],
                                   out_infos, initializer=g.initializers)
    proto = onnx.helper.make_model(graph, producer_name="minigrad",
                                   opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    proto.ir_version = min(proto.ir_version, 8)         # readable by older runtimes
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, filepath):
    """Write ``model`` to ``filepath`` as ONNX; returns ``filepath``. Nothing is written
    when the model cannot be exported.

    Args:
        model (Model): a built model.
        filepath (str or path): the ``.onnx`` file.

    Returns:
        ``filepath``.
    """
    filepath = os.fspath(filepath)
    data = to_onnx(model).SerializeToString()
    with atomic_write(filepath) as f:
        f.write(data)
    return filepath
