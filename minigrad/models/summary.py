"""``model.summary()``: one row per layer, with parameters and multiply-adds.

Keras's columns (layer name and type, output shape, parameter count), minigrad's
"Mult-adds" column (multiply-adds one sample costs in the layer), and for a functional
graph Keras's "Connected to" column: the tensors each call of the layer took, written
``layer_name[node][tensor]``. A layer shared by several calls counts its multiply-adds
once per call.
"""
import numpy as np

__all__ = ["summary_lines", "multiply_adds"]


def _kernel_weights(layer):
    return [w for w in layer.weights if (w.name or "").endswith("kernel")]


def multiply_adds(layer, output_shape):
    """Multiply-adds one sample costs in ``layer`` (0 for layers without kernels).

    Every output position multiplies each weight of each kernel once: a depthwise
    kernel ``(k, C, M)`` costs ``positions * k*C*M``, a pointwise ``(1, C*M, F)``
    ``positions * C*M*F``, a full conv ``(k, C, F)`` ``positions * k*C*F``, a Dense
    kernel ``(n, units)`` ``positions * n*units`` (positions = 1 for flat inputs).

    Args:
        layer (Layer): a built layer.
        output_shape (tuple): the layer's output shape (the batch axis is ignored).

    Returns:
        int: multiply-adds per sample.

    Example:
        >>> dense = layers.Dense(3)
        >>> dense(np.zeros((1, 4), "float32")).shape
        (1, 3)
        >>> models.multiply_adds(dense, (1, 3))
        12
    """
    from .model import Model
    if isinstance(layer, Model):
        return sum(madds for _, _, madds, _ in layer_rows(layer))
    kernels = _kernel_weights(layer)
    if not kernels:
        return 0
    return _positions(layer, output_shape) * sum(w.size for w in kernels)


def _positions(layer, output_shape):
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        spatial = output_shape[2:]
    else:
        spatial = output_shape[1:-1]
    return int(np.prod([s for s in spatial if s is not None], dtype=np.int64))


def _separable_savings(layer, output_shape):
    """(depthwise, pointwise, full conv) multiply-adds of a separable layer, or None."""
    names = {w.name: w for w in layer.weights}
    dw, pw = names.get("depthwise_kernel"), names.get("pointwise_kernel")
    if dw is None or pw is None:
        return None
    positions = _positions(layer, output_shape)
    k = int(np.prod(dw.shape[:-2]))
    channels, filters = dw.shape[-2], pw.shape[-1]
    return positions * dw.size, positions * pw.size, positions * k * channels * filters


def _graph_of(model):
    return getattr(model, "_graph", None)


def layer_rows(model):
    """``(layer, output_shape, multiply_adds, connected_to)`` for each layer of ``model``.

    For a graph the shapes come from the layer's calls in it (multiply-adds summed over
    them); for a subclassed model from the layer's last call.

    Args:
        model (Model): a built model.

    Returns:
        list of tuple
    """
    from ..layers.core import InputLayer
    graph = _graph_of(model)
    rows = []
    for layer in model.layers:
        if graph is None:
            shape = getattr(layer, "_last_output_shape", None)
            madds = multiply_adds(layer, shape) if shape is not None else 0
            rows.append((layer, shape, madds, []))
            continue
        nodes = graph.nodes_of(layer)
        if not nodes:
            continue
        shape = nodes[0].output_tensors[0].shape
        if len(nodes[0].output_tensors) > 1:
            shape = [t.shape for t in nodes[0].output_tensors]
        madds = 0 if isinstance(layer, InputLayer) else sum(
            multiply_adds(layer, n.output_tensors[0].shape) for n in nodes)
        connected = [_tensor_ref(graph, t) for n in nodes for t in n.input_tensors]
        rows.append((layer, shape, madds, connected))
    return rows


def _tensor_ref(graph, tensor):
    """``name[node][tensor]``: the node counted among the layer's calls in this graph."""
    nodes = graph.nodes_of(tensor.layer)
    return (f"{tensor.layer.name}[{nodes.index(tensor.node)}]"
            f"[{tensor.node.output_tensors.index(tensor)}]")


def summary_lines(model, line_length=None):
    """The lines of ``model.summary()`` (a list of strings).

    Args:
        model (Model): a built model.
        line_length (int or None, default None): the table's width; None fits the content.

    Returns:
        list of str
    """
    from .sequential import Sequential
    connected_column = _graph_of(model) is not None and not isinstance(model, Sequential)
    rows = layer_rows(model)
    widths = [40, 22, 10, 14]
    if connected_column:
        longest = max([len(c) for row in rows for c in row[3]] + [len("Connected to")])
        widths = [36, 20, 9, 12, longest + 2]
    if line_length:
        widths[0] = max(20, line_length - sum(widths[1:]))
    total_width = sum(widths)

    def row(cells):
        line = (f"{cells[0]:<{widths[0]}}{cells[1]:<{widths[1]}}{cells[2]:>{widths[2]}}"
                f"{cells[3]:>{widths[3]}}")
        if connected_column:
            line += "  " + cells[4]
        return line.rstrip()

    header = ["Layer (type)", "Output Shape", "Param #", "Mult-adds", "Connected to"]
    lines = [f'Model: "{model.name}"', "_" * total_width, row(header), "=" * total_width]
    notes = []
    total_madds = 0
    for i, (layer, shape, madds, connected) in enumerate(rows):
        total_madds += madds
        params = sum(w.size for w in layer.weights)
        label = f"{layer.name} ({type(layer).__name__})"
        if len(label) > widths[0] - 1:
            label = label[:widths[0] - 4] + "..."
        shape_text = "?" if shape is None else str(shape)
        lines.append(row([label, shape_text, f"{params:,}", f"{madds:,}",
                          connected[0] if connected else "-"]))
        for extra in connected[1:]:
            lines.append(row(["", "", "", "", extra]))
        lines.append("_" * total_width if i < len(rows) - 1 else "=" * total_width)
        saving_info = _separable_savings(layer, shape) if isinstance(shape, tuple) else None
        if saving_info is not None:
            dw, pw, full = saving_info
            ratio = full / (dw + pw) if dw + pw else float("nan")
            notes.append(f"  {layer.name}: {dw:,} depthwise + {pw:,} pointwise = {dw + pw:,} "
                         f"mult-adds; a full convolution: {full:,} ({ratio:.2g}x)")
    if not rows:
        lines.append("=" * total_width)
    trainable = sum(w.size for w in model.trainable_weights)
    total = sum(w.size for w in model.weights)
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              f"Mult-adds per sample: {total_madds:,}"]
    if notes:
        lines.append("Separable convolutions:")
        lines += notes
    lines.append("_" * total_width)
    return lines
