"""The same network in PyTorch and in Keras 3, built from a minigrad model with its weights.

``TorchGraph(model, torch)``: a ``torch.nn.Module`` that runs a minigrad functional (or
Sequential) model's graph layer by layer, each layer replaced by its PyTorch counterpart
with the same weights (NCHW; ``.to(memory_format=torch.channels_last)`` for the other
layout). ``torch_weights(net)`` gives them back in minigrad's layouts, to compare after
training. Layers covered (what the benchmarks' models use):

    Conv2D (groups 1, "valid", or "same" with stride 1)  -> Conv2d
    DepthwiseConv2D                                       -> Conv2d(groups=C)
    BatchNormalization (channels last)                    -> BatchNorm2d (momentum 1 - m)
    ReLU (max_value 6 or None)                            -> ReLU6 / ReLU
    ZeroPadding2D, Add, GlobalAveragePooling2D, Dense     -> ZeroPad2d, +, mean, Linear

``keras_twin(model, keras)``: the Keras model read from the ``.keras`` file minigrad
writes for ``model`` (``model.save``), so it is Keras's own reading of the same
architecture and weights.
"""
import os
import tempfile

import numpy as np


def _refs(entry):
    """Names of the layers whose outputs feed this layer (one call per layer here)."""
    nodes = entry["inbound_nodes"]
    if not nodes:
        return []
    if len(nodes) != 1:
        raise NotImplementedError(f"{entry['name']}: shared layers have no twin here")
    args = nodes[0]["args"]
    args = args if isinstance(args, list) else [args]
    return [a["keras_history"][0] for a in args]


def _same_padding(layer):
    kh, kw = layer.kernel_size
    if layer.padding == "valid":
        return 0
    if layer.padding == "same" and tuple(layer.strides) == (1, 1) and kh % 2 and kw % 2:
        return (kh // 2, kw // 2)
    raise NotImplementedError(f"{layer.name}: padding {layer.padding!r} with strides "
                              f"{layer.strides} has no twin here")


def _linear_activation(layer):
    name = getattr(getattr(layer, "activation", None), "__name__", "linear")
    if name != "linear":
        raise NotImplementedError(f"{layer.name}: activation {name!r} has no twin here")


def TorchGraph(model, torch):  # noqa: N802  (a class built on demand: torch is optional)
    nn = torch.nn

    class Add(nn.Module):
        def forward(self, *xs):
            out = xs[0]
            for x in xs[1:]:
                out = out + x
            return out

    class GlobalAverage(nn.Module):
        def forward(self, x):
            return x.mean(dim=(2, 3))

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a))

    def twin(layer, kind):
        if kind == "InputLayer":
            return nn.Identity()
        if kind in ("Conv2D", "DepthwiseConv2D"):
            _linear_activation(layer)
            pad, stride = _same_padding(layer), tuple(layer.strides)
            if kind == "Conv2D":
                if layer.groups != 1:
                    raise NotImplementedError(f"{layer.name}: groups={layer.groups}")
                k = layer.kernel.numpy()                              # (kh, kw, C, F)
                conv = nn.Conv2d(k.shape[2], k.shape[3], k.shape[:2], stride, pad,
                                 tuple(layer.dilation_rate), bias=layer.use_bias)
                conv.weight.copy_(t(k.transpose(3, 2, 0, 1)))
            else:
                k = layer.depthwise_kernel.numpy()                    # (kh, kw, C, M)
                kh, kw, c, m = k.shape
                conv = nn.Conv2d(c, c * m, (kh, kw), stride, pad, tuple(layer.dilation_rate),
                                 groups=c, bias=layer.use_bias)
                conv.weight.copy_(t(k.transpose(2, 3, 0, 1).reshape(c * m, 1, kh, kw)))
            if layer.use_bias:
                conv.bias.copy_(t(layer.bias.numpy()))
            return conv
        if kind == "BatchNormalization":
            if layer.axis not in (-1, 3, [-1], [3]):
                raise NotImplementedError(f"{layer.name}: axis {layer.axis}")
            gamma, beta, mean, var = layer.get_weights()
            bn = nn.BatchNorm2d(len(mean), eps=layer.epsilon, momentum=1 - layer.momentum)
            for p, v in ((bn.weight, gamma), (bn.bias, beta), (bn.running_mean, mean),
                         (bn.running_var, var)):
                p.copy_(t(v))
            return bn
        if kind == "ReLU":
            if layer.negative_slope or layer.threshold or layer.max_value not in (6, None):
                raise NotImplementedError(f"{layer.name}: ReLU arguments")
            return nn.ReLU6() if layer.max_value == 6 else nn.ReLU()
        if kind == "ZeroPadding2D":
            (top, bottom), (left, right) = layer.padding
            return nn.ZeroPad2d((left, right, top, bottom))
        if kind == "Add":
            return Add()
        if kind == "GlobalAveragePooling2D" and not layer.keepdims:
            return GlobalAverage()
        if kind == "Dense":
            _linear_activation(layer)
            k = layer.kernel.numpy()
            linear = nn.Linear(k.shape[0], k.shape[1], bias=layer.use_bias)
            linear.weight.copy_(t(k.T))
            if layer.use_bias:
                linear.bias.copy_(t(layer.bias.numpy()))
            return linear
        raise NotImplementedError(f"no PyTorch twin for {kind} ({layer.name})")

    class Graph(nn.Module):
        def __init__(self):
            super().__init__()
            config = model.get_config()
            self.program = []                    # (layer name, names of its inputs)
            self.kinds = {}
            self.layers = nn.ModuleDict()
            default = torch.get_default_dtype()
            torch.set_default_dtype(getattr(torch, model.weights[0].numpy().dtype.name))
            try:
                with torch.no_grad():
                    for entry in config["layers"]:
                        name = entry["name"]
                        self.layers[name] = twin(model.get_layer(name), entry["class_name"])
                        self.kinds[name] = entry["class_name"]
                        self.program.append((name, _refs(entry)))
            finally:
                torch.set_default_dtype(default)
            self.output = config["output_layers"][0] if isinstance(
                config["output_layers"][0], str) else config["output_layers"][0][0]

        def forward(self, x):
            values = {}
            for name, inputs in self.program:
                args = [values[i] for i in inputs] if inputs else [x]
                values[name] = self.layers[name](*args)
            return values[self.output]

    return Graph()


def torch_weights(net):
    """The trainable weights of a ``TorchGraph``, in minigrad's layouts and layer order."""
    out = []
    for name, _ in net.program:
        kind, m = net.kinds[name], net.layers[name]
        if kind == "Conv2D":
            out.append(m.weight.detach().numpy().transpose(2, 3, 1, 0))
        elif kind == "DepthwiseConv2D":
            w = m.weight.detach().numpy()
            c = m.groups
            out.append(w.reshape(c, -1, *w.shape[2:]).transpose(2, 3, 0, 1))
        elif kind == "BatchNormalization":
            out += [m.weight.detach().numpy(), m.bias.detach().numpy()]
        elif kind == "Dense":
            out.append(m.weight.detach().numpy().T)
        else:
            continue
        if kind in ("Conv2D", "DepthwiseConv2D", "Dense") and m.bias is not None:
            out.append(m.bias.detach().numpy())
    return out


def keras_twin(model, keras):
    """``model`` read back by Keras from minigrad's ``.keras`` file (same weights)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        return keras.saving.load_model(path, compile=False)
