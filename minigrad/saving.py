"""Weights on disk: one ``.npz`` file per model (or layer).

The file is an ordinary NumPy ``.npz`` archive (readable with ``np.load``):

* one array per weight, keyed by the weight's path ``"<layer name>/<variable name>"``
  (e.g. ``"separable_conv2d/depthwise_kernel"``), with the weight's dtype;
* ``"__minigrad_weights__"``: a JSON header (a 0-d unicode array) with the format
  version and the ordered list of ``{"path", "shape", "dtype"}`` entries. The order is
  the model's ``weights`` order, so the file can be loaded into another copy of the
  model whose layers got other default names (``dense_3`` instead of ``dense``).

Writing is atomic: the archive goes to a temporary file in the same directory, which
then replaces the target in one ``os.replace``; a crash never leaves a half-written
file under the target name.

Loading is checked before anything changes: the file must be a minigrad weights file,
have as many weights as the object, and each weight must have the same variable name
(``bias``, ``pointwise_kernel``, ...) and shape. Otherwise ``ValueError`` says what does
not fit, and the weights are untouched. ``by_name=True`` matches full paths instead of
positions (layer names must then agree too).
"""
import json
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["save_weights", "load_weights", "read_weights_file"]

HEADER_KEY = "__minigrad_weights__"
FORMAT_VERSION = 1


def _weights_of(obj):
    weights = getattr(obj, "weights", None)
    if weights is None:
        raise TypeError(f"Expected a minigrad Layer or model, got {type(obj).__name__}.")
    if not getattr(obj, "built", True):
        raise ValueError(f"'{obj.name}' is not built yet, so it has no weights to save or "
                         "load. Build it first (call it on data, call `build(input_shape)`, "
                         "or give the first layer an `input_shape`).")
    return list(weights)


def _path_of(variable, index):
    return getattr(variable, "path", None) or getattr(variable, "name", None) or f"weight_{index}"


def save_weights(obj, filepath):
    """Write the weights of ``obj`` (a model or layer) to ``filepath`` atomically.

    The file is written exactly at ``filepath`` (no suffix is added); ``.npz`` is the
    conventional suffix. Returns ``filepath``.
    """
    weights = _weights_of(obj)
    filepath = os.fspath(filepath)
    entries, arrays = [], {}
    for i, w in enumerate(weights):
        path = _path_of(w, i)
        if path in arrays or path == HEADER_KEY:
            path = f"{path}#{i}"          # two weights with one path: keep both, in order
        arrays[path] = np.asarray(w.data)
        entries.append({"path": path, "shape": list(w.shape), "dtype": str(w.dtype)})
    header = {"format": "minigrad-weights", "version": FORMAT_VERSION,
              "name": getattr(obj, "name", None), "weights": entries}
    arrays[HEADER_KEY] = np.array(json.dumps(header))

    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(filepath) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return filepath


def read_weights_file(filepath):
    """``(header, {path: array})`` from a minigrad weights file, or ``ValueError``.

    Everything is read into memory, so a truncated or corrupt archive fails here and
    not half way through assigning weights.
    """
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"No weights file at {filepath!r}.")
    not_ours = (f"{filepath!r} is not a minigrad weights file (expected an .npz archive "
                f"written by save_weights)")
    try:
        with np.load(filepath, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise ValueError(f"{not_ours}: it holds a single array.")
            if HEADER_KEY not in archive.files:
                raise ValueError(f"{not_ours}: it has no '{HEADER_KEY}' header (arrays: "
                                 f"{', '.join(archive.files[:5])}).")
            header = json.loads(str(archive[HEADER_KEY]))
            entries = header["weights"]
            arrays = {e["path"]: archive[e["path"]] for e in entries}
    except ValueError as e:
        if str(e).startswith(repr(filepath)):
            raise
        raise ValueError(f"{not_ours}: {e}") from None
    except (OSError, EOFError, KeyError, TypeError, zipfile.BadZipFile,
            json.JSONDecodeError) as e:
        raise ValueError(f"{not_ours}, or it is truncated or corrupt: "
                         f"{type(e).__name__}: {e}") from None
    if header.get("format") != "minigrad-weights":
        raise ValueError(f"{not_ours}: unknown header format {header.get('format')!r}.")
    for e in entries:
        if list(arrays[e["path"]].shape) != list(e["shape"]):
            raise ValueError(f"{filepath!r} is corrupt: array '{e['path']}' has shape "
                             f"{arrays[e['path']].shape}, the header says {tuple(e['shape'])}.")
    return header, arrays


def _var_name(path):
    return path.split("#")[0].rsplit("/", 1)[-1]


def load_weights(obj, filepath, by_name=False):
    """Load weights saved by :func:`save_weights` into ``obj``; all-or-nothing.

    by_name: False (default) pairs the file's weights with ``obj.weights`` by position
        and checks variable names and shapes; True pairs them by full path.
    """
    weights = _weights_of(obj)
    header, arrays = read_weights_file(filepath)
    entries = header["weights"]
    name = getattr(obj, "name", type(obj).__name__)
    if by_name:
        by_path = {e["path"]: e for e in entries}
        chosen = []
        missing = [_path_of(w, i) for i, w in enumerate(weights)
                   if _path_of(w, i) not in by_path]
        if missing:
            raise ValueError(f"Weights file {filepath!r} does not fit '{name}': no weights "
                             f"for {', '.join(missing)} (the file has "
                             f"{', '.join(by_path)}).")
        chosen = [by_path[_path_of(w, i)] for i, w in enumerate(weights)]
    else:
        if len(entries) != len(weights):
            raise ValueError(f"Weights file {filepath!r} does not fit '{name}': it holds "
                             f"{len(entries)} weights, the model has {len(weights)}.\n"
                             f"  file:  {', '.join(e['path'] for e in entries)}\n"
                             f"  model: {', '.join(_path_of(w, i) for i, w in enumerate(weights))}")
        chosen = entries
    values = []
    for i, (w, e) in enumerate(zip(weights, chosen)):
        path = _path_of(w, i)
        if _var_name(e["path"]) != _var_name(path):
            raise ValueError(f"Weights file {filepath!r} does not fit '{name}': weight #{i} "
                             f"is '{path}' in the model but '{e['path']}' in the file.")
        value = arrays[e["path"]]
        if tuple(value.shape) != tuple(w.shape):
            raise ValueError(f"Weights file {filepath!r} does not fit '{name}': weight '{path}' "
                             f"has shape {tuple(w.shape)}, the file's '{e['path']}' has shape "
                             f"{tuple(value.shape)}.")
        if value.dtype.kind not in "biuf":
            raise ValueError(f"Weights file {filepath!r}: array '{e['path']}' has dtype "
                             f"{value.dtype}; expected numbers.")
        values.append(value)
    for w, value in zip(weights, values):
        w.assign(value)
