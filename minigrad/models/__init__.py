"""Models: a :class:`Model` is a layer that trains; three ways to build one.

* :mod:`~minigrad.models.model` — ``Model``, the shared API and subclassing
  (``class Net(mg.Model)``).
* :mod:`~minigrad.models.functional` — ``mg.Model(inputs, outputs)``: a graph of layer
  calls on symbolic tensors from ``mg.Input``.
* :mod:`~minigrad.models.sequential` — ``mg.Sequential([...])``: a chain on the same graph.
* :mod:`~minigrad.models.summary` — ``model.summary()`` and ``multiply_adds``.
"""
from .model import Model  # noqa: F401
from .functional import Functional  # noqa: F401
from .sequential import Sequential  # noqa: F401
from .summary import multiply_adds, summary_lines  # noqa: F401

__all__ = ["Model", "Functional", "Sequential", "multiply_adds", "summary_lines",
           "load_model"]


def load_model(filepath):
    """A model from a ``.keras`` file written by minigrad or Keras 3; see
    :mod:`minigrad.saving`.

    Args:
        filepath (str or path): the ``.keras`` file.

    Returns:
        Model
    """
    from .. import saving
    return saving.load_model(filepath)
