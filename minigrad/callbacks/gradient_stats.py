"""``GradientStats``: per-layer gradient and weight norms every step (drawn by
:func:`minigrad.plotting.plot_gradient_flow`)."""
import math

import numpy as np

from .base import Callback


def _layer_name(weight, position):
    """The layer a weight belongs to: the part of its ``layer/weight`` path before '/'."""
    path = getattr(weight, "path", None) or weight.name
    if path and "/" in path:
        return path.rsplit("/", 1)[0]
    return path or f"weight_{position}"


def _norm(array):
    return float(np.sqrt(np.sum(np.square(np.asarray(array, dtype=np.float64)))))


class GradientStats(Callback):
    """A ``fit`` callback recording per-layer gradient and weight norms every step.

    A layer's gradient norm is ``sqrt(sum of squares)`` over the gradients of all its
    trainable weights (kernel and bias together); its weight norm likewise over the
    weights, read after the optimizer step.

        stats = GradientStats()
        model.fit(x, y, epochs=3, callbacks=[stats])
        stats.history            # {"dense": [norm at step 0, step 1, ...], "dense_1": [...]}
        stats.weight_history     # the same for the weights
        stats.weight_gradient_history   # per weight path: {"dense/kernel": [...], ...}
        print(stats)             # a table: last and mean gradient norm, weight norm

    Args:
        every (int, default 1): record one step in ``every`` (1 = all of them).

    Inside ``fit`` the training step hands every step's gradients to the callbacks
    (:meth:`Callback.on_train_batch_gradients`, after the optimizer step). In a
    hand-written training loop call ``stats.record(grads, model.trainable_weights)`` after
    ``tape.gradient``. A weight without a gradient (not connected to the loss) counts as zero.

    Raises:
        ValueError: if ``every`` is not a positive integer.
    """

    def __init__(self, every=1):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"GradientStats: `every` must be a positive integer. Received: "
                             f"every={every!r}")
        self.every = int(every)
        self.reset()

    def reset(self):
        """Forget everything recorded so far."""
        self.history = {}
        self.weight_history = {}
        self.weight_gradient_history = {}
        self.steps = []
        self._seen_steps = 0

    @property
    def layers(self):
        """The layer names, in model order."""
        return list(self.history)

    def on_train_batch_gradients(self, batch, gradients, weights):
        step = self._seen_steps
        self._seen_steps += 1
        if step % self.every == 0:
            self.record(gradients, weights, step=step)

    def record(self, gradients, weights, step=None):
        """Add one step: ``gradients[i]`` is the gradient of ``weights[i]`` (or None)."""
        gradients, weights = list(gradients), list(weights)
        if len(gradients) != len(weights):
            raise ValueError(f"GradientStats.record: got {len(gradients)} gradients for "
                             f"{len(weights)} weights; they must pair up.")
        grad_sq, weight_sq = {}, {}
        for position, (g, w) in enumerate(zip(gradients, weights)):
            layer = _layer_name(w, position)
            g_norm = 0.0 if g is None else _norm(g)
            path = getattr(w, "path", None) or w.name or f"weight_{position}"
            self.weight_gradient_history.setdefault(path, []).append(g_norm)
            grad_sq[layer] = grad_sq.get(layer, 0.0) + g_norm ** 2
            weight_sq[layer] = weight_sq.get(layer, 0.0) + _norm(w.data) ** 2
        for layer in grad_sq:
            self.history.setdefault(layer, []).append(math.sqrt(grad_sq[layer]))
            self.weight_history.setdefault(layer, []).append(math.sqrt(weight_sq[layer]))
        self.steps.append(len(self.steps) if step is None else int(step))

    def mean_gradient_norms(self):
        """``{layer: mean gradient norm over the recorded steps}``."""
        return {layer: float(np.mean(norms)) for layer, norms in self.history.items()}

    def __str__(self):
        if not self.history:
            return "GradientStats: no steps recorded yet."
        rows = [("layer", "grad norm (last)", "grad norm (mean)", "weight norm (last)")]
        for layer, norms in self.history.items():
            rows.append((layer, f"{norms[-1]:.4g}", f"{np.mean(norms):.4g}",
                         f"{self.weight_history[layer][-1]:.4g}"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"({len(self.steps)} step{'s' * (len(self.steps) != 1)} recorded)")
        return "\n".join(lines)

    def __repr__(self):
        return f"<GradientStats {len(self.history)} layers, {len(self.steps)} steps>"
