"""Saving, loading and handing a model on.

=====================  ===========================================================
``npz.py``             weights as ``.npz`` (no dependency beyond NumPy): the default
``h5_weights.py``      weights in Keras's HDF5 layout (``.weights.h5``), by position
``keras_archive.py``   whole models as Keras 3 ``.keras`` archives (writing)
``keras_functional.py`` functional models' layer graphs in ``.keras`` files
``keras_load.py``      reading ``.keras`` archives, trusting nothing in them
``onnx_export.py``     models as ONNX graphs for deployment
``onnx_layers.py``     how each layer becomes ONNX operators
``files.py``           atomic writes: a file appears whole or not at all
``optional.py``        h5py / onnx imported on demand, with a clear error without them
=====================  ===========================================================

``save_weights`` / ``load_weights`` pick the format from the file name: ``.h5`` is
Keras's layout (needs ``h5py``), anything else ``.npz``.
"""
import os

from .npz import HEADER_KEY, read_weights_file  # noqa: F401
from . import h5_weights, npz
from .files import atomic_write

__all__ = ["save_weights", "load_weights", "read_weights_file", "atomic_write",
           "save_model", "load_model", "export"]


def _is_h5(filepath):
    return os.fspath(filepath).endswith(".h5")


def save_weights(obj, filepath):
    """Write the weights of ``obj`` (a model or layer) to ``filepath``; returns it.

    Args:
        obj (Model or Layer): whose ``weights`` are written.
        filepath (str or path): ``.weights.h5`` (Keras's layout, needs h5py) or any other
            name for minigrad's ``.npz`` format.

    Returns:
        str or path: ``filepath``.

    Raises:
        ValueError: for a ``.keras`` name (a whole model: use :func:`save_model`).

    Example:
        >>> import tempfile
        >>> model = mg.Sequential([mg.Input((4,)), layers.Dense(2)])
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> saving.save_weights(model, path) == path
        True
        >>> twin = mg.Sequential([mg.Input((4,)), layers.Dense(2)])
        >>> saving.load_weights(twin, path)
        >>> bool((twin.weights[0].numpy() == model.weights[0].numpy()).all())
        True
    """
    if os.fspath(filepath).endswith(".keras"):
        raise ValueError(f"save_weights: {os.fspath(filepath)!r} names a whole-model "
                         "archive; use model.save(...) for .keras files, or a "
                         "'.weights.h5' / '.npz' name for weights alone.")
    if _is_h5(filepath):
        return h5_weights.save_weights(obj, filepath)
    return npz.save_weights(obj, filepath)


def load_weights(obj, filepath, by_name=False):
    """Load weights written by :func:`save_weights` (or Keras's ``.weights.h5``) into
    ``obj``; all-or-nothing.

    Args:
        obj (Model or Layer): whose weights are set (built first if needed).
        filepath (str or path): what :func:`save_weights` wrote, or a Keras ``.weights.h5``.
        by_name (bool, default False): ``.npz`` only: pair weights by full path instead of by
            position.

    Raises:
        ValueError: if the file does not fit ``obj`` (names, shapes, count), before any
            weight changes; also for ``by_name=True`` with an ``.h5`` file.
    """
    if _is_h5(filepath):
        if by_name:
            raise ValueError("load_weights: by_name=True is only supported for .npz files; "
                             "Keras's .weights.h5 files store weights by position.")
        return h5_weights.load_weights(obj, filepath)
    return npz.load_weights(obj, filepath, by_name=by_name)


def save_model(model, filepath):
    """Write ``model`` as a Keras 3 ``.keras`` archive (see :mod:`.keras_archive`).

    Args:
        model (Model): the model (architecture, weights, compile arguments).
        filepath (str or path): the ``.keras`` file.

    Returns:
        the written path.
    """
    from .keras_archive import save_model as save
    return save(model, filepath)


def load_model(filepath):
    """Rebuild a model from a ``.keras`` archive written by minigrad or Keras 3.

    Args:
        filepath (str or path): the ``.keras`` file.

    Returns:
        Model

    Raises:
        ValueError: for an archive it cannot read or trust (named in the message).
    """
    from .keras_load import load_model as load
    return load(filepath)



def export(model, filepath, format="onnx"):
    """Export ``model`` for serving; ``format="onnx"`` is the one supported.

    Args:
        model (Model): a built model.
        filepath (str or path): the ``.onnx`` file.
        format (str, default "onnx"): the only format supported.

    Raises:
        ValueError: for another format. ImportError (with how to install it) without onnx.
    """
    if format != "onnx":
        raise ValueError(f"export: unknown format={format!r}; expected 'onnx'.")
    from .onnx_export import export_onnx
    return export_onnx(model, filepath)
