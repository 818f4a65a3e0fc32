"""Saving, loading and handing a model on.

=====================  ===========================================================
``npz.py``             weights as ``.npz`` (no dependency beyond NumPy): the default
``files.py``           atomic writes: a file appears whole or not at all
=====================  ===========================================================

``save_weights`` / ``load_weights`` pick the format from the file name.
"""
from .npz import HEADER_KEY, read_weights_file
from . import npz
from .files import atomic_write

__all__ = ["save_weights", "load_weights", "read_weights_file", "atomic_write"]


def save_weights(obj, filepath):
    """Write the weights of ``obj`` (a model or layer) to ``filepath``; returns it."""
    return npz.save_weights(obj, filepath)


def load_weights(obj, filepath, by_name=False):
    """Load weights written by :func:`save_weights` into ``obj``; all-or-nothing."""
    return npz.load_weights(obj, filepath, by_name=by_name)
