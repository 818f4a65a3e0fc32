"""Plots for training and gradients (needs matplotlib, imported only when a plot is drawn).

    plot_history(history)                  # loss per epoch, training and validation
    plot_gradient_flow(stats)              # mean gradient norm per layer (GradientStats)
    plot_gradient_flow(stats, kind="lines")   # every layer's gradient norm, step by step
    plot_weight_histograms(model)          # one histogram per weight

Each function draws on ``ax`` when given, else on a new figure, and returns the Axes
(``plot_weight_histograms`` without ``ax``: the list of Axes, one per weight); the
figure is ``ax.figure``. Nothing here chooses a backend: in a notebook the plots show
inline, in a script call ``matplotlib.pyplot.show()`` or ``ax.figure.savefig(...)``.
"""
import numpy as np

__all__ = ["plot_gradient_flow", "plot_history", "plot_weight_histograms"]


def _pyplot():
    import matplotlib.pyplot as plt      # a dependency, imported on first use (it is slow)
    return plt


def _axes(ax, figsize=(6.4, 4.0)):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def _norms_by_layer(stats):
    """``{layer: [norm per step]}`` from a GradientStats or a plain dict."""
    history = getattr(stats, "history", stats)
    if not isinstance(history, dict):
        raise TypeError(f"plot_gradient_flow expects a GradientStats callback or a dict "
                        f"{{layer name: [gradient norms]}}, got {type(stats).__name__}.")
    if not history:
        raise ValueError("plot_gradient_flow: no gradient norms recorded yet (did fit run "
                         "with the GradientStats callback?).")
    return {str(k): np.asarray(v, dtype=np.float64) for k, v in history.items()}


def plot_gradient_flow(stats, ax=None, kind="bars", log_scale=True):
    """How big the gradients are, layer by layer (input side on the left).

    Args:
        stats (GradientStats or dict): a :class:`~minigrad.callbacks.GradientStats`
            (after ``fit``) or a dict ``{layer name: [gradient norm per step]}``.
        ax (matplotlib Axes or None, default None): where to draw; None makes a new
            figure.
        kind (str, default "bars"): ``"bars"`` (mean norm per layer, with the largest norm
            seen drawn behind it) or ``"lines"`` (each layer's norm over the steps).
        log_scale (bool, default True): logarithmic y axis; vanishing gradients span
            orders of magnitude.

    Returns:
        matplotlib Axes
    """
    if kind not in ("bars", "lines"):
        raise ValueError(f"plot_gradient_flow: kind must be 'bars' or 'lines'. Received: "
                         f"kind={kind!r}")
    norms = _norms_by_layer(stats)
    ax = _axes(ax)
    names = list(norms)
    if kind == "bars":
        positions = np.arange(len(names))
        ax.bar(positions, [v.max() for v in norms.values()], color="#c6dbef",
               label="max over steps")
        ax.bar(positions, [v.mean() for v in norms.values()], width=0.5, color="#2171b5",
               label="mean over steps")
        ax.set_xticks(positions)
        ax.set_xticklabels(names, rotation=45, ha="right")
        ax.set_xlabel("layer")
    else:
        steps = getattr(stats, "steps", None)
        for name, values in norms.items():
            x = steps if steps is not None and len(steps) == len(values) else range(len(values))
            ax.plot(list(x), values, label=name)
        ax.set_xlabel("training step")
    if log_scale and all((v > 0).any() for v in norms.values()):
        ax.set_yscale("log")
    ax.set_ylabel("gradient norm")
    ax.set_title("Gradient flow")
    ax.legend(fontsize="small")
    return ax


def plot_history(history, keys=None, ax=None):
    """Curves of the values ``fit`` logged per epoch.

    Args:
        history (History or dict): what ``fit`` returns, or its ``.history`` dict.
        keys (list of str or None, default None): which logs to draw; None means every
            key containing "loss" (``loss`` and ``val_loss``). A validation curve is
            dashed, in its training curve's colour.
        ax (matplotlib Axes or None, default None): where to draw; None makes a new
            figure.

    Returns:
        matplotlib Axes
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise TypeError(f"plot_history expects the History returned by fit() or its "
                        f".history dict, got {type(history).__name__}.")
    if keys is None:
        keys = [k for k in logs if "loss" in k] or list(logs)
    elif isinstance(keys, str):
        keys = [keys]
    missing = [k for k in keys if k not in logs]
    if missing:
        raise ValueError(f"plot_history: {missing} not in the history; available keys: "
                         f"{sorted(logs)}.")
    if not keys:
        raise ValueError("plot_history: the history is empty (did fit run any epoch?).")
    epochs = getattr(history, "epoch", None)
    ax = _axes(ax)
    colours = {}
    for key in sorted(keys, key=lambda k: k.startswith("val_")):
        values = logs[key]
        x = epochs if epochs is not None and len(epochs) == len(values) else range(len(values))
        base = key[4:] if key.startswith("val_") else key
        kwargs = {"linestyle": "--", "color": colours[base]} if base in colours and \
            key.startswith("val_") else {}
        line, = ax.plot(list(x), values, marker="o", markersize=3, label=key, **kwargs)
        colours.setdefault(base, line.get_color())
    ax.set_xlabel("epoch")
    bases = {k[4:] if k.startswith("val_") else k for k in keys}
    ax.set_ylabel(bases.pop() if len(bases) == 1 else "value")
    ax.set_title("Training history")
    ax.legend(fontsize="small")
    return ax


def plot_weight_histograms(model, ax=None, bins=30, trainable_only=False):
    """Histogram of every weight's values (e.g. to watch them spread during training).

    Args:
        model (Model, Layer or list of Variable): whose ``weights`` are drawn.
        ax (matplotlib Axes or None, default None): draw every weight on this one Axes
            (outlines, with a legend); None gives each weight its own subplot in a new
            figure.
        bins (int, default 30): histogram bins.
        trainable_only (bool, default False): only ``trainable_weights``.

    Returns:
        matplotlib Axes (with ``ax``) or a list of Axes, one per weight.
    """
    if isinstance(model, (list, tuple)):
        weights = list(model)
    else:
        weights = model.trainable_weights if trainable_only else model.weights
    if not weights:
        raise ValueError("plot_weight_histograms: there are no weights to plot (is the "
                         "model built? call it once or build it with an input shape).")
    labels = [getattr(w, "path", None) or w.name or f"weight {i}" for i, w in enumerate(weights)]
    if ax is not None:
        for w, label in zip(weights, labels):
            ax.hist(np.ravel(w.data), bins=bins, histtype="step", label=label)
        ax.set_xlabel("value")
        ax.set_ylabel("count")
        ax.legend(fontsize="small")
        return ax
    plt = _pyplot()
    columns = min(3, len(weights))
    rows = -(-len(weights) // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False)
    axes = list(grid.ravel())
    for a, w, label in zip(axes, weights, labels):
        a.hist(np.ravel(w.data), bins=bins, color="#2171b5")
        a.set_title(f"{label} {w.shape}", fontsize="small")
    for a in axes[len(weights):]:
        a.set_visible(False)
    fig.tight_layout()
    return axes[:len(weights)]
