"""One ``update_step`` call for many of a step's variables, when the formula allows it.

Every built-in optimizer's update is elementwise: each number of a weight moves by its
own gradient and its own slot values, whatever the weight's shape. Concatenated into one
long vector, the weights then move with a single call of the same formula, and NumPy runs
each operation of it once over all the numbers instead of once per weight. On a small
model that is most of the optimizer's time: each NumPy call on a few hundred numbers costs
about a microsecond of Python and dispatch, and an SGD step with momentum makes four of
them per weight.

The result is the same, number for number: the same operations on the same values, in
the same order. Each weight's new array is a slice of the long result (a C-contiguous
view); the next step copies the weights into a new vector again, so a weight handed out
earlier never changes.

Only small weights are joined, into groups of at most ``GROUP_SIZE`` numbers: a large
weight costs the same per number either way, and joining it would add a copy of it to the
step's memory and let one kept slice (a logged bias) hold every weight of its group alive.

A subclass whose update looks across a weight (a norm, a factored second moment) leaves
``elementwise = False`` (the default of :class:`~minigrad.optimizers.Optimizer`, and of any
subclass that writes its own ``update_step`` without setting it) and keeps one call per
variable.
"""
import numpy as np

SMALL = 1 << 16          # weights of fewer numbers are joined
GROUP_SIZE = 1 << 20     # numbers in one joined group at most (4 MiB of float32)


def fused_update(optimizer, grads, values, buffers, learning_rate, context):
    """``optimizer.update_step`` on all variables: the small ones in joined groups, each
    large one on its own.

    Args:
        optimizer (Optimizer): an optimizer whose ``update_step`` is elementwise.
        grads (list of ndarray): one gradient per variable, in its dtype.
        values (list of ndarray): the weights (after weight decay), one dtype.
        buffers (dict): ``{slot name: [current slot array per variable]}``.
        learning_rate (float): this step's rate.
        context (dict): the per-step numbers of :meth:`Optimizer._begin_step`.

    Returns:
        tuple: ``(new weights, {slot name: [new slot array per variable]})``, each list in
        the variables' order.
    """
    dtype = values[0].dtype
    new_weights, new_buffers = [None] * len(values), {}
    for group in _groups(values):
        members = [values[i] for i in group]
        current = {slot: [arrays[i] for i in group] for slot, arrays in buffers.items()}
        if len(group) == 1:
            i = group[0]
            new, updated = optimizer.update_step(grads[i], values[i],
                                                 {s: a[0] for s, a in current.items()},
                                                 learning_rate, context)
            parts = {"": [np.asarray(new, dtype)]}
            parts.update((slot, [np.asarray(a, dtype)]) for slot, a in updated.items())
        else:
            new, updated = optimizer.update_step(
                _joined([grads[i] for i in group]), _joined(members),
                {slot: _joined(arrays) for slot, arrays in current.items()},
                learning_rate, context)
            parts = {"": _split(new, members, dtype)}
            parts.update((slot, _split(a, members, dtype)) for slot, a in updated.items())
        for slot, arrays in parts.items():        # back to the variables' positions
            target = new_weights if slot == "" else \
                new_buffers.setdefault(slot, [None] * len(values))
            for k, i in enumerate(group):
                target[i] = arrays[k]
    return new_weights, new_buffers


def _groups(values):
    """Positions of the variables, in order, cut into groups: consecutive small ones
    together up to ``GROUP_SIZE`` numbers, each large one alone."""
    groups, current, size = [], [], 0
    for i, v in enumerate(values):
        if v.size >= SMALL:
            groups.append([i])
            continue
        if current and size + v.size > GROUP_SIZE:
            groups.append(current)
            current, size = [], 0
        current.append(i)
        size += v.size
    if current:
        groups.append(current)
    return groups


def _joined(arrays):
    return np.concatenate(arrays, axis=None)         # (axis=None: each one flattened)


def _split(flat, members, dtype):
    """Each member's share of ``flat``, in its shape (views)."""
    flat = np.asarray(flat, dtype)
    pieces, start = [], 0
    for m in members:
        piece = flat[start:start + m.size]
        pieces.append(piece if m.ndim == 1 else piece.reshape(m.shape))   # (a vector: as is)
        start += m.size
    return pieces
