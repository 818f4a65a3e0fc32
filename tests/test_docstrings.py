"""Reference documentation: every public name has a docstring; the layers' is a full reference.

``help(name)`` is the reference a learner reads, so it is tested like code: every public
layer documents every constructor argument (name, type, default), the shapes, the formula,
the weights and an example; every other public function and class documents every parameter
of its signature under ``Args:``. Every example is run here and must print what the
docstring says.
"""
import importlib
import importlib.util
import inspect
import re
import types

import numpy as np
import pytest

import minigrad as mg
from minigrad import layers
from minigrad.layers.layer_weights import LayerWeights

MODULES = ["minigrad", "minigrad.layers", "minigrad.ops", "minigrad.losses", "minigrad.metrics",
           "minigrad.optimizers", "minigrad.callbacks", "minigrad.initializers",
           "minigrad.regularizers", "minigrad.constraints", "minigrad.activations",
           "minigrad.inspection", "minigrad.drawing", "minigrad.plotting", "minigrad.datasets",
           "minigrad.saving", "minigrad.random", "minigrad.config", "minigrad.models",
           "minigrad.tape", "minigrad.tensor", "minigrad.gradcheck", "minigrad.registry",
           "minigrad.applications", "minigrad.optimizers.schedules", "minigrad.layers.symbolic",
           "minigrad.layers.reference", "minigrad.threads", "minigrad.ops.geometry",
           "minigrad.naming", "minigrad.saving.onnx_export", "minigrad.data_adapter",
           "minigrad.demo", "minigrad.ops.math", "minigrad.models.functional",
           "minigrad.models.summary", "minigrad.layers.reshaping", "minigrad.saving.files",
           "minigrad.saving.npz", "minigrad.optimizers.base", "minigrad.optimizers.adam",
           "minigrad._kernels", "minigrad.saving.h5_weights", "minigrad.saving.keras_functional",
           "minigrad.saving.keras_load", "minigrad.saving.optional", "minigrad.variance_scaling",
           "minigrad.initializer_base", "minigrad.loss_functions",
           "minigrad.activation_functions", "minigrad.sample_weights",
           "minigrad.optimizers.clipping", "minigrad.optimizers.argument_checks",
           "minigrad.tape_views", "minigrad.saving.onnx_layers",
           "minigrad.layers.layer_weights"]
# The bases a layer family is built on; every other public Layer class is a full reference.
LAYER_BASES = {layers.Layer, layers.Merge, layers.Conv, layers.BaseDepthwiseSeparableConv}
FULL_REFERENCE = sorted({obj for obj in vars(layers).values()
                         if isinstance(obj, type) and issubclass(obj, layers.Layer)
                         and obj not in LAYER_BASES}, key=lambda c: c.__name__)


def _public(module_name):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType) or not callable(obj):
            continue
        if getattr(obj, "__module__", "").startswith("minigrad"):
            yield f"{module_name}.{name}", obj


PUBLIC = sorted({qualified: obj for m in MODULES if importlib.util.find_spec(m)
                 for qualified, obj in _public(m)}.items())


def test_there_are_public_names():
    assert len(PUBLIC) > 150 and len(CALLABLES) > 250


def test_every_public_layer_is_a_full_reference():
    """A new layer in ``minigrad.layers`` is checked below without anyone listing it."""
    assert len(FULL_REFERENCE) >= 40
    assert {layers.Add, layers.Reshape, layers.ReLU, layers.InputLayer} <= set(FULL_REFERENCE)


@pytest.mark.parametrize("qualified, obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_every_public_name_has_a_docstring(qualified, obj):
    doc = inspect.getdoc(obj) or ""
    assert len(doc) >= 12 and re.search(r"[a-zA-Z]{2}", doc), f"{qualified}: docstring {doc!r}"


@pytest.mark.parametrize("cls", FULL_REFERENCE, ids=lambda c: c.__name__)
def test_layer_reference_lists_every_argument_shape_formula_and_example(cls):
    doc = inspect.getdoc(cls)
    for section in ("Formula", "Args:", "Input shape:", "Output shape:", "Weights:", "Example:"):
        assert section in doc, (cls.__name__, section)
    signature = inspect.signature(cls.__init__)
    for p in list(signature.parameters.values())[1:]:
        if p.kind is p.VAR_KEYWORD:
            assert f"**{p.name}:" in doc
            continue
        default = "" if p.default is p.empty else f", default {p.default!r}"
        assert re.search(rf"^ *{p.name} \([^)]*{re.escape(default)}\):", doc, re.M), \
            (cls.__name__, p.name, default)


def _example_lines(doc):
    """The ``>>>`` lines and their outputs of the ``Example:`` section (up to a blank line)."""
    lines = []
    for line in doc.split("Example:", 1)[1].strip("\n").splitlines():
        if not line.strip():
            break
        lines.append(line.strip())
    return lines


def _run_example(lines, namespace):
    """Run ``>>> source`` lines (``...`` continues one); a line without either is the repr
    the statement before it prints."""
    assert lines, "empty Example section"
    i = 0
    while i < len(lines):
        assert lines[i].startswith(">>> "), lines[i]
        source = [lines[i][4:]]
        i += 1
        while i < len(lines) and lines[i].startswith("..."):
            source.append(lines[i][4:])
            i += 1
        if i < len(lines) and not lines[i].startswith(">>> "):
            assert repr(eval("\n".join(source), namespace)) == lines[i], source
            i += 1
        else:
            exec("\n".join(source), namespace)


def _namespace(obj):
    """What an example may use without importing, as in a doctest: the globals of the module
    that defines ``obj``, np, mg and the public modules by name."""
    namespace = dict(vars(importlib.import_module(obj.__module__)))
    namespace.update({"layers": layers, "np": np, "mg": mg})
    for name in ("ops", "losses", "metrics", "optimizers", "callbacks", "initializers",
                 "regularizers", "constraints", "activations", "inspection", "drawing",
                 "plotting", "datasets", "saving", "random", "config", "models", "tape",
                 "tensor", "registry", "applications", "optimizers.schedules"):
        namespace[name.rsplit(".", 1)[-1]] = importlib.import_module(f"minigrad.{name}")
    return namespace


@pytest.mark.parametrize("cls", FULL_REFERENCE, ids=lambda c: c.__name__)
def test_layer_reference_example_prints_what_it_says(cls):
    mg.layers.clear_session()
    _run_example(_example_lines(inspect.getdoc(cls)), _namespace(cls))


# -- every other public function and class: Args for every parameter ------------------------
def _key(obj):
    return f"{obj.__module__}.{getattr(obj, '__qualname__', obj.__class__.__name__)}"


def _parameters(obj):
    """The parameters a caller passes: a class's ``__init__`` without ``self``."""
    target = obj.__init__ if isinstance(obj, type) else obj
    if isinstance(obj, type) and not inspect.isfunction(target):
        return []                          # object's or an exception's built-in __init__
    try:
        parameters = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return []
    if parameters and parameters[0].name in ("self", "cls"):   # a class, or a method
        parameters = parameters[1:]
    return parameters


_CALLABLES = {}
for _qualified, _obj in PUBLIC:
    if _obj not in FULL_REFERENCE:
        _CALLABLES.setdefault(_key(_obj), (_qualified, _obj))
# The methods learners call most: their help() is a reference too.
METHODS = [mg.Model.compile, mg.Model.fit, mg.Model.evaluate, mg.Model.predict,
           mg.Model.train_on_batch, mg.Model.test_on_batch, mg.Model.predict_on_batch,
           mg.Model.summary, mg.Model.save, mg.Model.save_weights, mg.Model.load_weights,
           mg.Model.get_layer, mg.Sequential.add, mg.GradientTape.gradient,
           mg.GradientTape.watch, layers.Layer.add_weight, layers.Layer.get_weights,
           layers.Layer.set_weights, mg.optimizers.Optimizer.apply,
           mg.optimizers.Optimizer.apply_gradients, mg.metrics.Metric.update_state,
           mg.Tensor.backward, mg.Tensor.register_hook, mg.Variable.assign,
           mg.GradientTape.backward_steps, mg.GradientTape.find_nonfinite,
           mg.GradientTape.to_dot, layers.Layer.build, mg.Model.build, mg.Model.export,
           mg.Model.from_config, mg.optimizers.Optimizer.build,
           mg.optimizers.Optimizer.exclude_from_weight_decay, mg.optimizers.Optimizer.get_slot,
           mg.optimizers.Optimizer.update_step, mg.metrics.Metric.values]
METHODS += [getattr(mg.callbacks.Callback, name) for name in dir(mg.callbacks.Callback)
            if name.startswith(("on_", "set_"))]      # the hooks a callback overrides
METHODS += [function for cls in (mg.Tensor, mg.Variable, layers.Layer, LayerWeights)
            for name, function in vars(cls).items()
            if not name.startswith("_") and inspect.isfunction(function)]
for _method in METHODS:
    _CALLABLES.setdefault(_key(_method), (_key(_method), _method))
CALLABLES = sorted(_CALLABLES.values(), key=lambda item: item[0])

def _missing_arguments(obj):
    doc = inspect.getdoc(obj) or ""
    parameters = _parameters(obj)
    if parameters and "Args:" not in doc:
        return ["Args:"]
    missing = []
    for p in parameters:
        stars = {p.VAR_POSITIONAL: r"\*", p.VAR_KEYWORD: r"\*\*"}.get(p.kind, "")
        if not re.search(rf"^ *{stars}{p.name}( \(|:)", doc, re.M):
            missing.append(p.name)
    return missing


@pytest.mark.parametrize("qualified, obj", CALLABLES, ids=[q for q, _ in CALLABLES])
def test_every_public_callable_documents_every_argument(qualified, obj):
    missing = _missing_arguments(obj)
    assert not missing, f"{qualified}: no Args entry for {missing}"


EXAMPLES = [(q, obj) for q, obj in CALLABLES if "Example:" in (inspect.getdoc(obj) or "")]


def test_the_main_names_have_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("qualified, obj", EXAMPLES, ids=[q for q, _ in EXAMPLES])
def test_public_example_prints_what_it_says(qualified, obj):
    mg.layers.clear_session()
    _run_example(_example_lines(inspect.getdoc(obj)), _namespace(obj))
