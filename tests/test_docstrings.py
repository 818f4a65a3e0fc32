"""Reference documentation: every public name has a docstring; the layers' is a full reference.

``help(name)`` is the reference a learner reads, so it is tested like code: the convolution
layers document every constructor argument (name, type, default), the shapes, the formula
and an example — and the example is run here and must print what the docstring says.
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

MODULES = ["minigrad", "minigrad.layers", "minigrad.ops", "minigrad.losses", "minigrad.metrics",
           "minigrad.optimizers", "minigrad.callbacks", "minigrad.initializers",
           "minigrad.regularizers", "minigrad.constraints", "minigrad.activations",
           "minigrad.inspection", "minigrad.drawing", "minigrad.plotting", "minigrad.datasets",
           "minigrad.saving", "minigrad.random", "minigrad.config", "minigrad.models",
           "minigrad.tape", "minigrad.tensor", "minigrad.gradcheck", "minigrad.registry",
           "minigrad.applications"]
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
    assert len(PUBLIC) > 150


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


@pytest.mark.parametrize("cls", FULL_REFERENCE, ids=lambda c: c.__name__)
def test_layer_reference_example_prints_what_it_says(cls):
    example = inspect.getdoc(cls).split("Example:")[1]
    lines = [line.strip() for line in example.strip().splitlines()]
    namespace = {"layers": layers, "np": np, "mg": mg}
    i = 0
    while i < len(lines):
        assert lines[i].startswith(">>> "), lines[i]
        source = lines[i][4:]
        if i + 1 < len(lines) and not lines[i + 1].startswith(">>> "):
            assert repr(eval(source, namespace)) == lines[i + 1], source
            i += 2
        else:
            exec(source, namespace)
            i += 1
