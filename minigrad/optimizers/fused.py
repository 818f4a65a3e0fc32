"""One ``update_step`` call for all of a step's variables, when the formula allows it.

Every built-in optimizer's update is elementwise: each number of a weight moves by its
own gradient and its own slot values, whatever the weight's shape. Concatenated into one
long vector, all the weights of a model then move with a single call of the same
formula, and NumPy runs each operation of it once over all the numbers instead of once
per weight. On a small model that is most of the optimizer's time: each NumPy call on a
few hundred numbers costs about a microsecond of Python and dispatch, and an SGD step
with momentum makes four of them per weight.

The result is the same, number for number: the same operations on the same values, in
the same order. Each weight's new array is a slice of the long result (a C-contiguous
view); the next step copies the weights into a new vector again, so a weight handed out
earlier never changes.

A subclass whose update looks across a weight (a norm, a factored second moment) leaves
``elementwise = False`` (the default of :class:`~minigrad.optimizers.Optimizer`) and keeps
one call per variable.
"""
import numpy as np


def fused_update(optimizer, grads, values, buffers, learning_rate, context):
    """``optimizer.update_step`` on all variables at once.

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
    ends = np.cumsum([v.size for v in values]).tolist()
    starts = [0] + ends[:-1]

    def joined(arrays):
        return np.concatenate([a.reshape(-1) for a in arrays])

    def parts(flat):
        flat = np.asarray(flat, dtype=dtype)
        return [flat[i:j].reshape(v.shape) for i, j, v in zip(starts, ends, values)]

    current = {slot: joined(arrays) for slot, arrays in buffers.items()}
    new, updated = optimizer.update_step(joined(grads), joined(values), current,
                                         learning_rate, context)
    return parts(new), {slot: parts(value) for slot, value in updated.items()}
