"""Functional models: a graph of layer calls from symbolic inputs to outputs.

    inputs = mg.Input((16,), name="features")
    x = layers.Dense(8, activation="relu")(inputs)
    y = layers.Add()([layers.Dense(8)(x), x])               # a skip connection
    model = mg.Model(inputs, layers.Dense(2)(y))           # a Functional

Every layer call on symbolic tensors left a :class:`~minigrad.layers.symbolic.Node`.
:class:`Graph` walks the nodes back from the outputs (Keras 3's ``map_graph``): each node
gets a depth (its longest distance to an output), the layers are listed deepest first,
in the order the walk first met them — the order Keras gives ``model.layers`` and
``model.get_weights()`` — and running the model calls the layers node by node, deepest
first, on real Tensors. Because the layers run eagerly on the tape, gradients, tape
entries (with the layer names), ``backward_steps``, hooks and ``find_nonfinite`` work
as for any layer. :class:`~minigrad.Sequential` runs on the same :class:`Graph`.
"""
import numpy as np

from ..layers.symbolic import SymbolicTensor, _is_spec, flatten, output_specs
from .model import Model

__all__ = ["Functional", "Graph"]


class Graph:
    """The nodes between ``inputs`` and ``outputs`` (flat lists of SymbolicTensors),
    checked and put in running order.

    Args:
        inputs (list of SymbolicTensor): the model's inputs.
        outputs (list of SymbolicTensor): the model's outputs.
        model_name (str): named in the error messages.

    Raises:
        ValueError: as :class:`Functional` describes.
    """

    def __init__(self, inputs, outputs, model_name):
        self.inputs, self.outputs = list(inputs), list(outputs)
        input_ids = {id(t) for t in self.inputs}
        ordered, first_seen = [], {}
        finished = set()

        def visit(tensor):
            node = tensor.node
            if id(node) in finished:
                return
            if id(node.layer) not in first_seen:
                first_seen[id(node.layer)] = len(first_seen)
            if node.is_input and id(tensor) not in input_ids:
                raise ValueError(
                    f"Graph disconnected: the outputs of model '{model_name}' depend on the "
                    f"input '{tensor.name}' (shape {tensor.shape}), which is not among the "
                    f"model's inputs {[t.name for t in self.inputs]}. Pass it in `inputs`.")
            for parent in node.input_tensors:
                visit(parent)
            finished.add(id(node))
            ordered.append(node)

        for t in self.outputs:
            visit(t)
        used = {id(n.output_tensors[0]) for n in ordered if n.is_input}
        for t in self.inputs:
            if id(t) not in used:
                raise ValueError(f"Input '{t.name}' (shape {t.shape}) of model "
                                 f"'{model_name}' is not connected to any of its outputs "
                                 f"{[o.name for o in self.outputs]}.")
        # depth = longest path to an output; a shared layer takes its deepest node's depth
        node_depth, layer_depth = {}, {}
        for node in reversed(ordered):
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = node_depth[id(node)] = depth
            for parent in node.parent_nodes:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
        layers = {id(n.layer): n.layer for n in ordered}
        self.layers = sorted(layers.values(), key=lambda l: (-layer_depth[id(l)],
                                                             first_seen[id(l)]))
        position = {id(n): i for i, n in enumerate(reversed(ordered))}
        self.nodes = sorted(ordered, key=lambda n: (-node_depth[id(n)], position[id(n)]))
        names = [layer.name for layer in self.layers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"The name '{name}' is used {names.count(name)} times in "
                                 f"model '{model_name}'; all layer names must be unique. "
                                 "Pass name=... to one of the layers.")
        # what `run` reads per node at every call: its layer, the id of its one input tensor
        # (None for a list, tuple or dict: `fill_in`), the node, its keyword arguments, the
        # id of its one output tensor (None for a list, tuple or dict)
        self._steps = [(node.layer,
                        id(node.arguments) if isinstance(node.arguments, SymbolicTensor) else None,
                        node, node.kwargs,
                        id(node.outputs) if isinstance(node.outputs, SymbolicTensor) else None)
                       for node in self.nodes if not node.is_input]

    def nodes_of(self, layer):
        """The nodes of ``layer`` in this graph, in running order."""
        return [n for n in self.nodes if n.layer is layer]

    def run(self, values, training=None):
        """Output Tensors for input Tensors ``values`` (one per graph input, in order)."""
        known = {id(t): v for t, v in zip(self.inputs, values)}
        for layer, argument, node, kwargs, output in self._steps:
            inputs = known[argument] if argument is not None else node.fill_in(known)
            if "training" in kwargs:       # given when the graph was built: it wins
                outputs = layer(inputs, **kwargs)
            else:
                outputs = layer(inputs, training=training, **kwargs)
            if output is not None and type(outputs) is not tuple and type(outputs) is not list \
                    and type(outputs) is not dict:
                known[output] = outputs
            else:
                for t, value in zip(node.output_tensors, flatten(outputs)):
                    known[id(t)] = value
        return [known[id(t)] for t in self.outputs]

    def output_shapes(self, input_shapes):
        """Output shapes for inputs of ``input_shapes`` (works out every node's shape)."""
        if all(tuple(s)[1:] == t.shape[1:] for s, t in zip(input_shapes, self.inputs)):
            return [t.shape for t in self.outputs]
        known = {id(t): SymbolicTensor(s, t.dtype) for t, s in zip(self.inputs, input_shapes)}
        for node in self.nodes:
            if node.is_input:
                continue
            kwargs = {k: v for k, v in node.kwargs.items() if k != "training"}
            specs = _flat_specs(output_specs(node.layer, node.fill_in(known), kwargs))
            for t, spec in zip(node.output_tensors, specs):
                known[id(t)] = SymbolicTensor(spec[0], spec[1])
        return [known[id(t)].shape for t in self.outputs]


def _flat_specs(specs):
    """The ``(shape, dtype)`` pairs of an output structure, in order."""
    if _is_spec(specs):
        return [specs]
    if isinstance(specs, dict):
        return [p for key in specs for p in _flat_specs(specs[key])]
    return [p for item in specs for p in _flat_specs(item)]


def check_input(model_name, symbolic, shape, position):
    """Raise if an input of ``shape`` does not fit the Input ``symbolic``.

    Args:
        model_name (str): named in the message.
        symbolic (SymbolicTensor): the Input.
        shape (tuple): the shape received.
        position (int): the input's position.

    Raises:
        ValueError: for another rank or a fixed size that differs.
    """
    expected = symbolic.shape
    if len(shape) != len(expected) or any(
            e is not None and s != e for e, s in zip(expected, shape)):
        raise ValueError(f"Input {position} ('{symbolic.name}') of model '{model_name}' "
                         f"expects shape {expected} (None = any size), but received an input "
                         f"of shape {tuple(shape)}.")


class Functional(Model):
    """A model from symbolic ``inputs`` to ``outputs``: ``mg.Model(inputs, outputs)``.

    inputs: a SymbolicTensor from ``mg.Input``, or a list or dict of them.
    outputs: a SymbolicTensor, or a list or dict of them, computed from ``inputs``.
    name: the model's name (default ``"functional"``, ``"functional_1"``, ...).

    Calling the model takes inputs in the same structure (a dict may be keyed by the
    inputs' names) and returns outputs in the structure of ``outputs``.

    Args:
        inputs (SymbolicTensor, list or dict): as above.
        outputs (SymbolicTensor, list or dict): as above.
        name (str or None, default None): as above.
        trainable (bool, default True): False freezes every weight.

    Raises:
        ValueError: if the outputs depend on an input not in ``inputs``, an input reaches
            no output, or a layer name is used twice. TypeError: for values that are not
            symbolic tensors.
    """

    def __init__(self, inputs, outputs, name=None, trainable=True):
        for argument, value in (("inputs", inputs), ("outputs", outputs)):
            for t in flatten(value):
                if not isinstance(t, SymbolicTensor):
                    raise TypeError(f"Model: every value in `{argument}` must be a symbolic "
                                    f"tensor (from mg.Input(...) or a layer called on one). "
                                    f"Received {type(t).__name__}: {t!r}")
        for t in flatten(inputs):
            if not t.node.is_input:
                raise ValueError(f"Model: `inputs` must come straight from mg.Input(...); "
                                 f"'{t.name}' was made by layer '{t.layer.name}'.")
        dtypes = [t.dtype for t in flatten(inputs) if t.dtype.kind == "f"]
        Model.__init__(self, name=name, trainable=trainable,
                       dtype=dtypes[0] if dtypes else None)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self._graph = Graph(flatten(inputs), flatten(outputs), self.name)
        self.built = True
        shapes = [t.shape for t in self._graph.inputs]
        self._build_shape = shapes[0] if len(shapes) == 1 else shapes

    def _sublayers(self):
        return list(self._graph.layers)

    @property
    def inputs(self):
        return list(self._graph.inputs)

    @property
    def outputs(self):
        return list(self._graph.outputs)

    @property
    def input_names(self):
        return [t.layer.name for t in self._graph.inputs]

    @property
    def output_names(self):
        """The names of the layers making the outputs (Keras's keys for per-output
        losses: ``<name>_loss``)."""
        return [t.layer.name for t in self._graph.outputs]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._graph.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._graph.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _flat_inputs(self, inputs):
        """``inputs`` as a list in the order of the model's inputs."""
        graph_inputs = self._graph.inputs
        if isinstance(inputs, dict):
            names = [t.name for t in graph_inputs]
            if isinstance(self._inputs_struct, dict):
                names = list(self._inputs_struct)
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}': the input dict has no value for "
                                 f"{missing}; expected keys {names}, got {list(inputs)}.")
            return [inputs[n] for n in names]
        flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(graph_inputs):
            raise ValueError(f"Model '{self.name}' expects {len(graph_inputs)} input(s) "
                             f"{[t.name for t in graph_inputs]}, but received {len(flat)}.")
        return flat

    def _check_input_shape(self, shape, what="input"):
        if len(self._graph.inputs) == 1 and not isinstance(shape, list):
            check_input(self.name, self._graph.inputs[0], shape, 0)

    def call(self, inputs, training=None):
        values = self._flat_inputs(inputs)
        for i, (t, value) in enumerate(zip(self._graph.inputs, values)):
            check_input(self.name, t, value.shape, i)
        outputs = self._graph.run(values, training)
        return _restructure(self._outputs_struct, outputs)

    def compute_output_shape(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        if isinstance(input_shape, dict):
            shapes = self._flat_inputs(input_shape)
        out = self._graph.output_shapes([tuple(s) for s in shapes])
        return out[0] if len(out) == 1 and isinstance(self._outputs_struct,
                                                        SymbolicTensor) else out

    # -- configuration -----------------------------------------------------------
    def get_config(self):
        """Keras's shape: ``{"name", "trainable", "layers": [{"class_name", "config",
        "name", "inbound_nodes"}], "input_layers", "output_layers"}``."""
        def ref(t):
            nodes = self._graph.nodes_of(t.layer)
            return [t.layer.name, nodes.index(t.node), t.node.output_tensors.index(t)]

        def encode(arguments):
            if isinstance(arguments, SymbolicTensor):
                return {"keras_history": ref(arguments)}
            if isinstance(arguments, dict):
                return {"__dict__": {k: encode(v) for k, v in arguments.items()}}
            return [encode(a) for a in arguments]

        items = []
        for layer in self._graph.layers:
            nodes = [n for n in self._graph.nodes_of(layer) if not n.is_input]
            items.append({"class_name": type(layer).__name__, "name": layer.name,
                          "config": layer.get_config(),
                          "inbound_nodes": [{"args": encode(n.arguments), "kwargs": n.kwargs}
                                            for n in nodes]})
        return {"name": self.name, "trainable": self.trainable, "layers": items,
                "input_layers": _structure_refs(self._inputs_struct, ref),
                "output_layers": _structure_refs(self._outputs_struct, ref)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A new model with the same graph (fresh weights). ``custom_objects`` maps class
        names to layer classes defined outside minigrad."""
        from ..layers.core import InputLayer
        made, produced = {}, {}           # layer name -> layer; (name, node) -> outputs
        for item in config["layers"]:
            layer = layer_class(item["class_name"], custom_objects).from_config(
                item["config"])
            made[item["name"]] = layer
            if isinstance(layer, InputLayer):
                produced[(item["name"], 0)] = [layer.output]

        def decode(arguments):
            if isinstance(arguments, dict) and "keras_history" in arguments:
                name, node, index = arguments["keras_history"]
                return produced[(name, node)][index]
            if isinstance(arguments, dict):
                return {k: decode(v) for k, v in arguments["__dict__"].items()}
            return [decode(a) for a in arguments]

        pending = [(item["name"], i, node) for item in config["layers"]
                   for i, node in enumerate(item["inbound_nodes"])]
        while pending:
            waiting = []
            for name, i, node in pending:
                try:
                    args = decode(node["args"])
                except KeyError:
                    waiting.append((name, i, node))
                    continue
                out = made[name](args, **node.get("kwargs", {}))
                produced[(name, i)] = flatten(out)
            if len(waiting) == len(pending):
                raise ValueError("Functional.from_config: the layer graph in the config "
                                 "cannot be rebuilt (a node's inputs are never produced).")
            pending = waiting

        def build(refs):
            if isinstance(refs, dict):
                return {k: build(v) for k, v in refs.items()}
            if refs and isinstance(refs[0], str):
                return produced[(refs[0], refs[1])][refs[2]]
            return [build(r) for r in refs]
        return cls(build(config["input_layers"]), build(config["output_layers"]),
                   name=config.get("name"), trainable=config.get("trainable", True))


_functional_subclasses = {}


def functional_subclass(cls):
    """``cls`` with :class:`Functional` behind it in the method order, for a subclass of
    Model whose ``__init__`` calls ``super().__init__(inputs, outputs)`` (as in Keras)."""
    if cls not in _functional_subclasses:
        _functional_subclasses[cls] = type(cls.__name__, (cls, Functional),
                                           {"__module__": cls.__module__,
                                            "__qualname__": cls.__qualname__})
    return _functional_subclasses[cls]


def _structure_refs(structure, ref):
    if isinstance(structure, SymbolicTensor):
        return ref(structure)
    if isinstance(structure, dict):
        return {k: _structure_refs(v, ref) for k, v in structure.items()}
    return [_structure_refs(t, ref) for t in structure]


def _restructure(structure, values):
    values = iter(values)

    def fill(s):
        if isinstance(s, SymbolicTensor):
            return next(values)
        if isinstance(s, dict):
            return {k: fill(v) for k, v in s.items()}
        return type(s)(fill(v) for v in s)
    return fill(structure)


def layer_class(name, custom_objects=None):
    """The layer or model class called ``name``: from ``custom_objects``, minigrad's
    models, or :mod:`minigrad.layers`.

    Args:
        name (str): the class name.
        custom_objects (dict or None, default None): ``{name: class}`` looked at first.

    Returns:
        type

    Raises:
        ValueError: for an unknown name.
    """
    from .. import layers as layers_module
    from . import Sequential
    known = {"Functional": Functional, "Model": Functional, "Sequential": Sequential}
    found = (custom_objects or {}).get(name) or known.get(name) or \
        getattr(layers_module, name, None)
    from ..layers.base import Layer
    if not (isinstance(found, type) and issubclass(found, Layer)):
        raise ValueError(f"from_config: unknown layer class {name!r}; pass "
                         f"custom_objects={{{name!r}: {name}}} for a class of your own.")
    return found

