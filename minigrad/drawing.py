"""Draw a tape as SVG, in pure Python: no Graphviz, no system program, works in any notebook.

    drawing = draw_tape(tape)            # shows itself in Jupyter (it has ``_repr_svg_``)
    drawing.save("tape.svg")             # or write it to a file
    svg_text = tape_to_svg(tape)         # the SVG document as a string

A tape in a notebook draws itself too: a cell that ends with ``tape`` shows this drawing
(``GradientTape._repr_svg_``), and ``print(tape)`` still prints the table.

What the drawing shows, top to bottom in recording order:

* one **op** per tape entry, a rounded box ``#index op``, one row each;
* the **leaves** — weights, watched inputs, constants: tensors no op on the tape produced —
  as square boxes left of the first op that reads them, labelled with their name (a
  Variable's ``layer/weight`` path) and ``shape dtype``; trainable weights in blue;
* **edges** from each tensor to the ops that read it, labelled with the tensor's **shape**
  (and, for an op with several inputs, the argument position: ``0: 4x3``);
* a dashed box around the consecutive ops of each **layer**, named after it, with the
  layer's weights inside;
* the outputs nobody read (the loss, usually) as an edge leaving the last row, and
  ``target`` in red if given.

The layout is a fixed grid (a row per op), so the size grows with the tape: it suits the
tapes of one small model step. :func:`minigrad.inspection.tape_to_dot` writes the same
graph for Graphviz, which lays out large graphs better.
"""
from xml.sax.saxutils import escape, quoteattr

from .tape import TapeEntry
from .tensor import Variable

__all__ = ["draw_tape", "tape_to_svg", "TapeDrawing"]

ROW = 54            # vertical distance between two op rows
OP_W, OP_H = 150, 26
LEAF_W, LEAF_H = 150, 30
GAP = 18            # between leaves of one row, and around layer boxes
CHAR = 6.2          # approximate width of one character at font-size 10
FONT = 'font-family="Helvetica, Arial, sans-serif"'
COLORS = {"op": "#fff7e0", "leaf": "#eeeeee", "weight": "#d8e6f6", "target": "#f6d8d8",
          "layer": "#888888", "edge": "#555555"}


def _shape_text(t):
    return "x".join(str(s) for s in t.shape) or "scalar"


def _fit(text, width):
    """``text`` cut to what fits ``width`` pixels (with an ellipsis)."""
    room = max(int(width / CHAR), 4)
    return text if len(text) <= room else text[:room - 1] + "\u2026"


def _text(x, y, text, size=10, anchor="middle", weight="normal", color="#222222"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{color}" {FONT}>{escape(text)}</text>')


class TapeDrawing:
    """An SVG drawing of a tape; Jupyter displays it, :meth:`save` writes it.

    Args:
        svg (str): the SVG document (``.svg``).
        n_ops (int): the ops drawn.
        n_leaves (int): the leaf tensors drawn (inputs, weights).
        layers (list of str): the layer names boxed, in order.
    """

    def __init__(self, svg, n_ops, n_leaves, layers):
        self.svg, self.n_ops, self.n_leaves, self.layers = svg, n_ops, n_leaves, layers

    def _repr_svg_(self):
        return self.svg

    def save(self, path):
        """Write the SVG document to ``path`` (e.g. ``"tape.svg"``)."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)

    def __repr__(self):
        return f"<TapeDrawing: {self.n_ops} ops, {self.n_leaves} leaves, layers {self.layers}>"


def draw_tape(tape, target=None, group_layers=True, title=None):
    """Draw the graph a tape recorded as SVG (see the module docstring for what is drawn).

    Args:
        tape: a :class:`~minigrad.GradientTape` or a list of its entries. A non-persistent
            tape forgets its entries once it has computed gradients: draw it before calling
            ``gradient``, or record with ``persistent=True``.
        target (Tensor, default None): a tensor to draw in red (e.g. the loss).
        group_layers (bool, default True): box each layer's consecutive ops and its weights.
        title (str, default None): a line of text above the drawing.

    Returns:
        TapeDrawing: shows itself in a notebook; ``.svg`` is the text, ``.save(path)``.

    Example:
        >>> x = mg.Tensor([1.0, 2.0]); w = mg.Variable([3.0, 4.0], name="w")
        >>> with mg.GradientTape() as tape:
        ...     y = (x * w).sum()
        >>> draw_tape(tape)
        <TapeDrawing: 2 ops, 2 leaves, layers []>
    """
    try:
        entries = list(tape)
    except TypeError:
        entries = None
    if entries is None or not all(isinstance(e, TapeEntry) for e in entries):
        raise TypeError("draw_tape expects a GradientTape or a list of its entries. "
                        f"Received: tape={tape!r}")
    produced = {id(e.output): e.index for e in entries}
    row_of = {e.index: row for row, e in enumerate(entries)}

    # leaves: tensors read by an op but produced by none, placed on their first reader's row
    leaves, leaf_row = [], {}
    for e in entries:
        for t in e.inputs:
            if id(t) not in produced and id(t) not in leaf_row:
                leaf_row[id(t)] = row_of[e.index]
                leaves.append(t)
    # Two leaf columns left of the ops: column 0 (nearest) holds the weights of the row's
    # layer, or every leaf of a row outside any layer; column 1 the others (inputs of a
    # layer), so a layer's box holds its own weights and nothing else.
    columns, leaf_column = {}, {}           # (row, column) -> leaves, stacked vertically
    for t in leaves:
        row = leaf_row[id(t)]
        layer = entries[row].layer if group_layers else None
        leaf_column[id(t)] = column = 0 if not layer or _owned_by(t, layer) else 1
        columns.setdefault((row, column), []).append(t)
    used = {column for _, column in columns}

    top = 34 if title else 14
    leaf_x = [GAP + (len(used) - 1 - c) * (LEAF_W + GAP * 3) + LEAF_W / 2 for c in (0, 1)]
    op_x = GAP + len(used) * (LEAF_W + GAP * 3) + OP_W / 2 if used else GAP * 2 + OP_W / 2
    if used == {1}:
        leaf_x[1] = GAP + LEAF_W / 2
    lane_x = op_x + OP_W / 2 + 30                               # long edges bend out here
    width = lane_x + 120

    centers, y = [], top + GAP
    for row in range(len(entries)):         # a row is as tall as its stack of leaves
        stack = len(columns.get((row, 0), ())) + len(columns.get((row, 1), ()))
        height = max(ROW, stack * (LEAF_H + 8) + 20)
        centers.append(y + height / 2)
        y += height
    total = y

    def op_center(row):
        return op_x, centers[row]

    leaf_center = {}                        # one stack a row: other leaves above the weights
    for row in range(len(entries)):
        stack = [(1, t) for t in columns.get((row, 1), ())] + \
                [(0, t) for t in columns.get((row, 0), ())]
        first = centers[row] - (len(stack) - 1) * (LEAF_H + 8) / 2
        for k, (column, t) in enumerate(stack):
            leaf_center[id(t)] = (leaf_x[column], first + k * (LEAF_H + 8))

    parts = []
    # layer boxes: runs of consecutive entries with the same layer
    layers = []
    if group_layers:
        runs, start = [], 0
        for i in range(1, len(entries) + 1):
            if i == len(entries) or entries[i].layer != entries[start].layer:
                if entries[start].layer:
                    runs.append((entries[start].layer, start, i - 1))
                start = i
        for name, first, last in runs:
            owned = [leaf_center[id(t)] for t in leaves
                     if first <= leaf_row[id(t)] <= last and _owned_by(t, name)]
            left = min([op_x - OP_W / 2] + [x - LEAF_W / 2 for x, _ in owned]) - GAP / 2
            y0 = min([op_center(first)[1] - OP_H / 2] + [y - LEAF_H / 2 for _, y in owned]) - 16
            y1 = max([op_center(last)[1] + OP_H / 2] + [y + LEAF_H / 2 for _, y in owned]) + 8
            right = op_x + OP_W / 2 + GAP / 2
            parts.append(f'<g class="layer" data-layer={quoteattr(name)}>'
                         f'<rect x="{left:.1f}" y="{y0:.1f}" width="{right - left:.1f}" '
                         f'height="{y1 - y0:.1f}" rx="8" fill="none" stroke="{COLORS["layer"]}" '
                         f'stroke-dasharray="5,3"/>'
                         + _text(left + 6, y0 + 11, _fit(name, right - left - 12), size=10,
                                 anchor="start", weight="bold", color="#555555") + "</g>")
            layers.append(name)

    # edges, drawn before the boxes so the boxes sit on top
    edges = []
    lane = 0
    for e in entries:
        tx, ty = op_center(row_of[e.index])
        several = len(e.inputs) > 1
        positions = {}                      # one arrow per input tensor: v * v reads v twice
        for position, t in enumerate(e.inputs):
            positions.setdefault(id(t), (t, []))[1].append(str(position))
        for t, numbers in positions.values():
            position = int(numbers[0])
            label = (f"{','.join(numbers)}: " if several else "") + _shape_text(t)
            if id(t) in produced:
                sx, sy = op_center(row_of[produced[id(t)]])
                sy += OP_H / 2
                if row_of[e.index] - row_of[produced[id(t)]] == 1:
                    path = f"M{sx:.1f},{sy:.1f} L{tx:.1f},{ty - OP_H / 2:.1f}"
                    lx, ly = tx + 6, (sy + ty - OP_H / 2) / 2 + 3
                else:                                   # skip rows: go round on the right
                    lane += 1
                    bend = lane_x + (lane % 5) * 12
                    path = (f"M{sx + OP_W / 4:.1f},{sy:.1f} C{bend:.1f},{sy + 10:.1f} "
                            f"{bend:.1f},{ty - OP_H:.1f} {tx + OP_W / 4:.1f},{ty - OP_H / 2:.1f}")
                    lx, ly = bend + 4, (sy + ty) / 2
            else:
                sx, sy = leaf_center[id(t)]            # the shape is in the leaf's box
                label = ",".join(numbers) if several else ""
                sx += LEAF_W / 2
                if leaf_column[id(t)] == 1:             # over the weights, into the op's top
                    ex = tx - OP_W / 4 - 10 * position
                    path = (f"M{sx:.1f},{sy:.1f} L{ex - 8:.1f},{sy:.1f} "
                            f"Q{ex:.1f},{sy:.1f} {ex:.1f},{sy + 8:.1f} L{ex:.1f},{ty - OP_H / 2:.1f}")
                    lx, ly = ex - 12, ty - OP_H / 2 - 4
                else:
                    path = (f"M{sx:.1f},{sy:.1f} C{sx + 30:.1f},{sy:.1f} "
                            f"{tx - OP_W / 2 - 30:.1f},{ty:.1f} {tx - OP_W / 2:.1f},{ty:.1f}")
                    lx, ly = sx + 4, sy - 4
            edges.append(f'<path d="{path}" fill="none" stroke="{COLORS["edge"]}" '
                         f'marker-end="url(#arrow)"/>'
                         + _text(lx, ly, label, size=8, anchor="start", color="#335577"))
    read = {id(t) for e in entries for t in e.inputs}
    for e in entries:                                   # outputs nobody read
        if id(e.output) not in read:
            x, y = op_center(row_of[e.index])
            edges.append(f'<path d="M{x:.1f},{y + OP_H / 2:.1f} L{x:.1f},{y + OP_H / 2 + 20:.1f}" '
                         f'stroke="{COLORS["edge"]}" marker-end="url(#arrow)"/>'
                         + _text(x + 6, y + OP_H / 2 + 16, _shape_text(e.output), size=8,
                                 anchor="start", color="#335577"))

    nodes = []
    for e in entries:
        x, y = op_center(row_of[e.index])
        fill = COLORS["target"] if target is not None and e.output is target else COLORS["op"]
        nodes.append(f'<g class="op" data-index="{e.index}"><title>{escape(repr(e))}</title>'
                     f'<rect x="{x - OP_W / 2:.1f}" y="{y - OP_H / 2:.1f}" width="{OP_W}" '
                     f'height="{OP_H}" rx="12" fill="{fill}" stroke="#aa8833"/>'
                     + _text(x, y + 4, _fit(f"#{e.index} {e.op}", OP_W - 10), size=10) + "</g>")
    for t in leaves:
        x, y = leaf_center[id(t)]
        name = getattr(t, "path", None) or t.name or "(unnamed)"
        trainable = isinstance(t, Variable) and t.trainable
        fill = COLORS["target"] if target is not None and t is target else \
            COLORS["weight"] if trainable else COLORS["leaf"]
        nodes.append(f'<g class="leaf"><rect x="{x - LEAF_W / 2:.1f}" y="{y - LEAF_H / 2:.1f}" '
                     f'width="{LEAF_W}" height="{LEAF_H}" fill="{fill}" stroke="#777777"/>'
                     + _text(x, y - 2, _fit(name, LEAF_W - 8), size=10)
                     + _text(x, y + 10, _fit(f"{_shape_text(t)} {t.dtype}", LEAF_W - 8), size=8,
                             color="#555555") + "</g>")

    height = (total if entries else top + GAP + ROW) + 20
    header = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
              f'viewBox="0 0 {width:.0f} {height:.0f}">'
              '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
              'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
              f'fill="{COLORS["edge"]}"/></marker></defs>'
              f'<rect width="100%" height="100%" fill="white"/>')
    if title:
        header += _text(GAP, 20, title, size=12, anchor="start", weight="bold")
    if not entries:
        header += _text(width / 2, top + 20, "(empty tape)", size=11)
    svg = header + "".join(parts) + "".join(edges) + "".join(nodes) + "</svg>"
    return TapeDrawing(svg, len(entries), len(leaves), layers)


def _owned_by(t, layer):
    """True when the leaf ``t`` is a weight of ``layer`` (its path is ``layer/name``)."""
    path = getattr(t, "path", None)
    return bool(path) and "/" in path and path.rsplit("/", 1)[0] == layer


def tape_to_svg(tape, **options):
    """The SVG document of :func:`draw_tape` as a string (same options).

    Args:
        tape (GradientTape or list): as for :func:`draw_tape`.
        **options: ``target``, ``group_layers``, ``title`` of :func:`draw_tape`.

    Returns:
        str
    """
    return draw_tape(tape, **options).svg
