"""Functional models (``mg.Model(inputs, outputs)``) in ``.keras`` files, both ways.

Keras 3 writes a functional model's ``config.json`` as its list of layers, each with its
``inbound_nodes``: one entry per call, whose ``args`` hold the call's inputs as
``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history":
[layer name, node index, tensor index]}}``; ``input_layers`` and ``output_layers`` point
at tensors the same way (one reference, or a list of them). The weights file lists the
layers in ``model.layers`` order, input layers included (``layers/input_layer/vars``).

A causal ``SeparableConv1D``/``DepthwiseConv1D`` becomes two layers here as in a
Sequential model: ``<name>_causal_padding`` (a ``ZeroPadding1D``) is called on the
layer's inputs and the layer, with ``padding="valid"``, on the padding's output; reading
folds the pair back into one causal layer.

Reading rebuilds the graph by calling minigrad layers (looked up as in
:mod:`minigrad.saving.keras_load`) on symbolic tensors from ``mg.Input``; a call
argument other than ``training`` (or ``mask=None``) is refused.
"""
from .keras_archive import CAUSAL_FAMILY, layer_entries
from .keras_load import FileRefused, _as_list, _dtype, layer_from_entry

__all__ = ["functional_config", "functional_from_config"]


def _tensor_of(model, ref):
    name, node_index, tensor_index = ref
    layer = model.get_layer(name)
    return model._graph.nodes_of(layer)[node_index].output_tensors[tensor_index]


def _keras_tensor(ref, tensor):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(tensor.shape), "dtype": str(tensor.dtype),
                       "keras_history": list(ref)}}


def _encode(value, model):
    """minigrad's ``{"keras_history": ref}`` argument encoding -> Keras's."""
    if isinstance(value, dict) and "keras_history" in value:
        return _keras_tensor(value["keras_history"], _tensor_of(model, value["keras_history"]))
    if isinstance(value, dict) and "__dict__" in value:
        return {k: _encode(v, model) for k, v in value["__dict__"].items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, model) for v in value]
    return value


def functional_config(model):
    """The ``config`` of a functional model's ``config.json`` entry.

    Args:
        model (Functional): the model.

    Returns:
        dict
    """
    base = model.get_config()
    layers = []
    for item in base["layers"]:
        layer = model.get_layer(item["name"])
        name = type(layer).__name__
        if name == "InputLayer":
            shape = layer.batch_input_shape
            layers.append({"module": "keras.layers", "class_name": "InputLayer",
                           "config": {"batch_shape": list(shape), "dtype": str(layer.dtype),
                                      "sparse": False, "ragged": False, "name": layer.name},
                           "registered_name": None, "name": layer.name,
                           "inbound_nodes": []})
            continue
        nodes = [{"args": [_encode(n["args"], model)], "kwargs": dict(n.get("kwargs") or {})}
                 for n in item["inbound_nodes"]]             # Keras: a list of positionals
        input_shape = None
        if nodes:
            first = nodes[0]["args"][0]
            input_shape = first["config"]["shape"] if isinstance(first, dict) else \
                [t["config"]["shape"] for t in first]
        entries = layer_entries(layer, input_shape if nodes else None)
        if len(entries) == 2:                            # causal: padding, then the layer
            pad, main = entries
            pad_name = pad["config"]["name"]
            padded_nodes = []
            for i, node in enumerate(nodes):
                out = _tensor_of(model, [layer.name, i, 0])
                shape = main.get("build_config", {}).get("input_shape") or \
                    [None] * len(out.shape)
                padded_nodes.append({"args": [_keras_tensor([pad_name, i, 0], _Shape(
                    shape, out.dtype))], "kwargs": node["kwargs"]})
            layers.append(dict(pad, name=pad_name, inbound_nodes=[
                {"args": n["args"], "kwargs": {}} for n in nodes]))
            layers.append(dict(main, name=layer.name, inbound_nodes=padded_nodes))
        else:
            layers.append(dict(entries[0], name=layer.name, inbound_nodes=nodes))
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": base["input_layers"], "output_layers": base["output_layers"]}


class _Shape:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


# -- reading -------------------------------------------------------------------------
def _fold_causal(entries):
    """Drop each ``<name>_causal_padding`` ZeroPadding1D feeding only layer ``<name>``
    (valid, same geometry) and make ``<name>`` causal, called on the padding's inputs."""
    by_name = {e.get("name"): e for e in entries if isinstance(e, dict)}
    users = {}
    for e in entries:
        for ref in _refs([n.get("args") for n in e.get("inbound_nodes") or []]):
            users.setdefault(ref[0], set()).add(e.get("name"))
    folded, dropped = [], set()
    for e in entries:
        conf = e.get("config") or {}
        pad = by_name.get(f"{e.get('name')}_causal_padding")
        if e.get("class_name") in CAUSAL_FAMILY and pad is not None and \
                pad.get("class_name") == "ZeroPadding1D" and conf.get("padding") == "valid" \
                and users.get(pad["name"]) == {e["name"]}:
            k = _as_list(conf.get("kernel_size"))[0]
            d = _as_list(conf.get("dilation_rate", 1))[0]
            pconf = pad.get("config") or {}
            if isinstance(k, int) and isinstance(d, int) and \
                    _as_list(pconf.get("padding")) == [d * (k - 1), 0] and \
                    pconf.get("data_format", "channels_last") == \
                    conf.get("data_format", "channels_last") and \
                    len(pad.get("inbound_nodes") or []) == len(e.get("inbound_nodes") or []):
                e = dict(e, config=dict(conf, padding="causal"),
                         inbound_nodes=[dict(own, args=theirs.get("args")) for own, theirs in
                                        zip(e["inbound_nodes"], pad["inbound_nodes"])])
                dropped.add(pad["name"])
        folded.append(e)
    return [e for e in folded if e.get("name") not in dropped]


def _refs(value):
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            yield (value.get("config") or {}).get("keras_history")
            return
        for v in value.values():
            yield from _refs(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _refs(v)


def _decode(value, produced):
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        ref = (value.get("config") or {}).get("keras_history")
        if not (isinstance(ref, list) and len(ref) == 3):
            raise FileRefused(f"a tensor reference is malformed: {ref!r}")
        key = (ref[0], ref[1])
        if key not in produced:
            raise KeyError(key)
        return produced[key][ref[2]]
    if isinstance(value, dict):
        return {k: _decode(v, produced) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decode(v, produced) for v in value]
    raise FileRefused(f"a call argument {value!r} is not a tensor.")


def _call_kwargs(kwargs, owner):
    """A node's call arguments. ``training`` is dropped: Keras records the value its
    symbolic build used (``training=False`` on Dropout), which its own models override
    with the mode of every call, as minigrad's models do by handing ``training`` down."""
    kwargs = dict(kwargs or {})
    if kwargs.get("mask", None) is None:
        kwargs.pop("mask", None)
    if isinstance(kwargs.get("training", False), bool):
        kwargs.pop("training", None)
    if kwargs:
        raise FileRefused(f"layer '{owner}' is called with {sorted(kwargs)}; minigrad layers "
                          "take only `training`.")
    return kwargs


def _flat(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def functional_from_config(config):
    """A minigrad functional model from a Keras ``Functional`` config (fresh weights).

    Args:
        config (dict): the ``config`` entry.

    Returns:
        Functional
    """
    import minigrad as mg
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise FileRefused("the Functional config has no list of layers.")
    entries = _fold_causal(entries)
    produced, pending, layers = {}, [], {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise FileRefused(f"a layer entry is malformed: {str(entry)[:200]}")
        if entry.get("class_name") == "InputLayer":
            conf = entry.get("config") or {}
            shape = conf.get("batch_shape", conf.get("batch_input_shape"))
            try:
                produced[(entry["name"], 0)] = [mg.Input(batch_shape=shape,
                                                         dtype=_dtype(conf.get("dtype")),
                                                         name=entry["name"])]
            except (ValueError, TypeError) as e:
                raise FileRefused(f"input '{entry['name']}' cannot be rebuilt: {e}") from None
            continue
        layers[entry["name"]] = layer_from_entry(entry)
        for i, node in enumerate(entry.get("inbound_nodes") or []):
            pending.append((entry["name"], i, node))
    while pending:
        waiting = []
        for name, i, node in pending:
            try:
                args = _decode(node.get("args"), produced)
            except KeyError:
                waiting.append((name, i, node))
                continue
            if isinstance(args, list) and len(args) == 1:
                args = args[0]
            try:
                out = layers[name](args, **_call_kwargs(node.get("kwargs"), name))
            except FileRefused:
                raise
            except (ValueError, TypeError) as e:
                raise FileRefused(f"layer '{name}' cannot be called on its inputs: {e}") \
                    from None
            produced[(name, i)] = _flat(out)
        if len(waiting) == len(pending):
            raise FileRefused("the layer graph cannot be rebuilt: some layer's inputs are "
                              f"never produced ({', '.join(n for n, _, _ in waiting[:5])}).")
        pending = waiting

    def build(refs):
        if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
            try:
                return produced[(refs[0], refs[1])][refs[2]]
            except (KeyError, IndexError, TypeError):
                raise FileRefused(f"the model refers to a missing tensor {refs!r}.") from None
        if isinstance(refs, dict):
            return {k: build(v) for k, v in refs.items()}
        if isinstance(refs, list):
            return [build(r) for r in refs]
        raise FileRefused(f"malformed input/output reference {refs!r}.")
    try:
        return mg.Model(build(config.get("input_layers")), build(config.get("output_layers")),
                        name=config.get("name"), trainable=config.get("trainable", True))
    except FileRefused:
        raise
    except (ValueError, TypeError) as e:
        raise FileRefused(f"the model cannot be rebuilt: {e}") from None
