"""The SVG tape drawing: valid XML, one box per entry and per leaf, layers grouped, shapes shown."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import minigrad as mg
from minigrad import layers
from minigrad.drawing import draw_tape, tape_to_svg

SVG = "{http://www.w3.org/2000/svg}"


def _groups(svg, cls):
    root = ET.fromstring(svg)               # raises on malformed XML
    assert root.tag == SVG + "svg"
    return [g for g in root.iter(SVG + "g") if g.get("class") == cls]


def _texts(element):
    return [t.text for t in element.iter(SVG + "text")]


def _model_tape():
    mg.set_random_seed(0)
    model = mg.Sequential([layers.Input((6, 6, 2)),
                           layers.SeparableConv2D(3, 3, activation="relu", name="sep"),
                           layers.Flatten(name="flat"), layers.Dense(4, name="head")])
    x = np.random.default_rng(0).random((2, 6, 6, 2)).astype("float32")
    with mg.GradientTape(persistent=True) as tape:
        loss = (model(x) ** 2).mean()
    return tape, loss


def test_one_op_box_per_entry_and_one_leaf_box_per_leaf():
    x = mg.Tensor(np.array([1.0, 2.0, 3.0]), name="x")
    w = mg.Variable(np.ones((3, 2)), name="w")
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = ((x * x) @ w).sum()
    drawing = draw_tape(tape, target=y)
    ops = _groups(drawing.svg, "op")
    assert [int(g.get("data-index")) for g in ops] == [e.index for e in tape] and len(ops) == 3
    leaves = _groups(drawing.svg, "leaf")
    assert len(leaves) == drawing.n_leaves == 2                  # x once, although read twice
    assert sorted(_texts(leaves[0])[:1] + _texts(leaves[1])[:1]) == ["w", "x"]
    texts = " ".join(t for g in ops for t in _texts(g))
    assert "#0 multiply" in texts and "#1 matmul" in texts and "#2 sum" in texts


def test_edges_carry_the_shapes():
    x = mg.Tensor(np.ones((4, 3)), name="x")
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (x * 2.0).sum(axis=1).sum()
    texts = _texts(ET.fromstring(tape_to_svg(tape)))
    assert "4" in texts and "scalar" in texts                    # multiply -> sum: 4x3 ...
    assert "4x3" in texts


def test_layers_are_grouped_with_their_weights():
    tape, loss = _model_tape()
    drawing = draw_tape(tape, target=loss)
    assert drawing.layers == ["sep", "flat", "head"]
    boxes = {g.get("data-layer"): g for g in _groups(drawing.svg, "layer")}
    assert set(boxes) == set(drawing.layers)
    # every weight box lies inside its layer's box; the model input does not
    rect = {name: g.find(SVG + "rect") for name, g in boxes.items()}
    for leaf in _groups(drawing.svg, "leaf"):
        name = _texts(leaf)[0]
        r = leaf.find(SVG + "rect")
        lx, ly = float(r.get("x")), float(r.get("y"))
        inside = {layer for layer, b in rect.items()
                  if float(b.get("x")) <= lx <= float(b.get("x")) + float(b.get("width"))
                  and float(b.get("y")) <= ly <= float(b.get("y")) + float(b.get("height"))}
        if "/" in name:
            assert inside == {name.split("/")[0]}, name
        else:
            assert inside == set(), name
    assert len(_groups(drawing.svg, "op")) == len(tape)
    assert len(_groups(draw_tape(tape, group_layers=False).svg, "layer")) == 0


def test_tape_draws_itself_in_a_notebook(tmp_path):
    tape, _ = _model_tape()
    svg = tape._repr_svg_()
    assert len(_groups(svg, "op")) == len(tape)
    path = tmp_path / "tape.svg"
    draw_tape(tape).save(path)
    assert path.read_text() == svg
    assert mg.GradientTape()._repr_svg_() is None                # empty: the text repr shows


def test_texts_are_escaped():
    x = mg.Tensor(np.ones(2), name="<x & y>")
    with mg.GradientTape() as tape:
        tape.watch(x)
        (x + 1.0).sum()
    assert "<x & y>" in _texts(ET.fromstring(tape_to_svg(tape, title="a < b")))


@pytest.mark.parametrize("bad", [3, None])
def test_not_a_tape(bad):
    with pytest.raises(TypeError):
        draw_tape(bad)
