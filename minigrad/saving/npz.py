"""Weights on disk as ``.npz``: the dependency-free format, one file per model (or layer).

The file is an ordinary NumPy ``.npz`` archive (readable with ``np.load``):

* one array per weight, keyed by the weight's path ``"<layer name>/<variable name>"``
  (e.g. ``"separable_conv2d/depthwise_kernel"``), with the weight's dtype;
* ``"__minigrad_weights__"``: a JSON header (a 0-d unicode array) with the format
  version and the ordered list of ``{"path", "shape", "dtype"}`` entries. The order is
  the model's ``weights`` order, so the file can be loaded into another copy of the
  model whose layers got other default names (``dense_3`` instead of ``dense``).

Writing goes through :func:`minigrad.saving.files.atomic_write`: the file appears
whole or not at all, with ordinary permission bits, and no temporary file survives.

Reading never trusts the file. The zip directory and each member's ``.npy`` header are
read first (a few hundred bytes each); the JSON header, every array's shape and dtype
and every member's uncompressed size are checked against each other *and against the
model* before a single array is decompressed, so a small crafted file cannot make the
loader allocate gigabytes. Arrays are read with pickling off and must hold numbers.
Anything wrong raises ``ValueError`` naming the file, and the weights are untouched.
Loading pairs the file's weights with the model's by position, checking the variable
name (``bias``, ``pointwise_kernel``, ...) and shape of each; ``by_name=True`` pairs
them by full path instead (layer names must then agree too).
"""
import json
import math
import os
import zipfile

import numpy as np

from .files import atomic_write

__all__ = ["save_weights", "load_weights", "read_weights_file"]

HEADER_KEY = "__minigrad_weights__"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 16 << 20        # the JSON header of a model with 100k weights fits


class _Refused(ValueError):
    """A ValueError whose message already names the file (passed through as is)."""


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

    Args:
        obj (Model or Layer): whose ``weights`` are written.
        filepath (str or path): the file.
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
    with atomic_write(filepath) as f:
        np.savez(f, **arrays)
    return filepath


# -- reading -----------------------------------------------------------------------
def _npy_header(archive, info, what):
    """``(shape, fortran_order, dtype, header_bytes)`` of one member, reading only its
    ``.npy`` header (never the data)."""
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise _Refused(f"{what} uses .npy format version {version}; expected 1.0 or 2.0.")
        offset = f.tell()
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biufU":
        raise _Refused(f"{what} holds {dtype} values; expected plain numbers (minigrad "
                       "never unpickles Python objects from a weights file).")
    if info.file_size != offset + math.prod(shape) * dtype.itemsize:
        raise _Refused(f"{what}: its stored size ({info.file_size} bytes) does not match "
                       f"its declared shape {shape} of {dtype}.")
    return shape, fortran, dtype, offset


def _read_member(archive, info, layout, what):
    shape, fortran, dtype, offset = layout
    with archive.open(info) as f:
        f.read(offset)
        data = f.read()                   # exactly file_size - offset bytes; CRC checked
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise _Refused(f"{what} is truncated.")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _check_entries(header, names, what):
    if not isinstance(header, dict) or header.get("format") != "minigrad-weights":
        raise _Refused(f"{what}: unknown header format "
                       f"{header.get('format') if isinstance(header, dict) else header!r}.")
    entries = header.get("weights")
    if not isinstance(entries, list):
        raise _Refused(f"{what}: the header has no list of weights.")
    for e in entries:
        ok = isinstance(e, dict) and isinstance(e.get("path"), str) and \
            isinstance(e.get("shape"), list) and \
            all(isinstance(s, int) and s >= 0 for s in e["shape"]) and \
            isinstance(e.get("dtype"), str)
        if not ok:
            raise _Refused(f"{what}: malformed header entry {str(e)[:200]}.")
        if e["path"] + ".npy" not in names:
            raise _Refused(f"{what}: the header lists '{e['path']}' but the archive has "
                           "no such array.")
    return entries


def read_weights_file(filepath, choose=None):
    """``(header, {path: array})`` from a minigrad weights file, or ``ValueError``.

    choose: optional ``choose(entries) -> entries``, called with the header's entries
        once the header is checked and before any array is decompressed; it raises to
        refuse (``load_weights`` checks the model there) and returns the entries to
        read. Default: all of them.

    Every array is read into memory, so a truncated or corrupt archive fails here and
    not half way through assigning weights.

    Args:
        filepath (str or path): the weights file.
        choose (callable or None, default None): as above.

    Returns:
        tuple: ``(header, {path: array})``.

    Raises:
        ValueError: for a file that is not a minigrad weights file, or is truncated.
    """
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"No weights file at {filepath!r}.")
    not_ours = (f"{filepath!r} is not a minigrad weights file (expected an .npz archive "
                f"written by save_weights)")
    with open(filepath, "rb") as handle:
        try:
            return _read_archive(handle, not_ours, choose)
        except _Refused as e:
            raise ValueError(str(e) if repr(filepath) in str(e) else f"{not_ours}: {e}") \
                from None
        except FileNotFoundError:
            raise
        except Exception as e:         # zipfile, zlib, numpy, json, ...: all malformed input
            detail = str(e)
            if "pickle" in detail.lower():
                detail = "it holds Python objects, which minigrad never unpickles"
            raise ValueError(f"{not_ours}, or it is truncated or corrupt: "
                             f"{type(e).__name__}: {detail}") from None


def _read_archive(handle, what, choose):
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile:
        raise _Refused("it is not a zip archive (a single .npy array, text, or a "
                       "truncated file).") from None
    with archive:
        infos = {info.filename: info for info in archive.infolist()}
        key = HEADER_KEY + ".npy"
        if key not in infos:
            listed = ", ".join(n[:-4] if n.endswith(".npy") else n for n in list(infos)[:5])
            raise _Refused(f"it has no '{HEADER_KEY}' header (arrays: {listed}).")
        if infos[key].file_size > MAX_HEADER_BYTES:
            raise _Refused(f"its header is {infos[key].file_size} bytes; at most "
                           f"{MAX_HEADER_BYTES} expected.")
        layout = _npy_header(archive, infos[key], "the header")
        if layout[2].kind != "U" or layout[0] != ():
            raise _Refused("the header is not a JSON string.")
        header = json.loads(str(_read_member(archive, infos[key], layout, "the header")[()]))
        entries = _check_entries(header, infos, what)
        chosen = entries if choose is None else choose(entries)
        layouts = {}
        for e in chosen:                  # every .npy header before any data
            member = f"array '{e['path']}'"
            layouts[e["path"]] = layout = _npy_header(archive, infos[e["path"] + ".npy"],
                                                      member)
            if list(layout[0]) != e["shape"] or str(layout[2]) != str(np.dtype(e["dtype"])):
                raise _Refused(f"{member} is {layout[2]} of shape {layout[0]}, the header "
                               f"says {e['dtype']} of shape {tuple(e['shape'])}: the file is "
                               "corrupt.")
            if layout[2].kind not in "biuf":
                raise _Refused(f"{member} has dtype {layout[2]}; expected numbers.")
        arrays = {e["path"]: _read_member(archive, infos[e["path"] + ".npy"],
                                          layouts[e["path"]], f"array '{e['path']}'")
                  for e in chosen}
    return header, arrays


def _var_name(path):
    return path.split("#")[0].rsplit("/", 1)[-1]


def load_weights(obj, filepath, by_name=False):
    """Load weights saved by :func:`save_weights` into ``obj``; all-or-nothing.

    by_name: False (default) pairs the file's weights with ``obj.weights`` by position
        and checks variable names and shapes; True pairs them by full path.

    Args:
        obj (Model or Layer): whose weights are set.
        filepath (str or path): the file.
        by_name (bool, default False): as above.

    Raises:
        ValueError: if the file does not fit ``obj``; nothing changes then.
    """
    weights = _weights_of(obj)
    filepath = os.fspath(filepath)
    name = getattr(obj, "name", type(obj).__name__)
    misfit = f"Weights file {filepath!r} does not fit '{name}'"

    def choose(entries):
        if by_name:
            by_path = {e["path"]: e for e in entries}
            missing = [_path_of(w, i) for i, w in enumerate(weights)
                       if _path_of(w, i) not in by_path]
            if missing:
                raise _Refused(f"{misfit}: no weights for {', '.join(missing)} (the file "
                               f"has {', '.join(by_path)}).")
            chosen = [by_path[_path_of(w, i)] for i, w in enumerate(weights)]
        else:
            if len(entries) != len(weights):
                model_paths = ", ".join(_path_of(w, i) for i, w in enumerate(weights))
                raise _Refused(f"{misfit}: it holds {len(entries)} weights, the model has "
                               f"{len(weights)}.\n  file:  "
                               f"{', '.join(e['path'] for e in entries)}\n"
                               f"  model: {model_paths}")
            chosen = entries
        for i, (w, e) in enumerate(zip(weights, chosen)):
            path = _path_of(w, i)
            if _var_name(e["path"]) != _var_name(path):
                raise _Refused(f"{misfit}: weight #{i} is '{path}' in the model but "
                               f"'{e['path']}' in the file.")
            if tuple(e["shape"]) != tuple(w.shape):
                raise _Refused(f"{misfit}: weight '{path}' has shape {tuple(w.shape)}, the "
                               f"file's '{e['path']}' has shape {tuple(e['shape'])}.")
        return chosen

    header, arrays = read_weights_file(filepath, choose)
    values = [arrays[e["path"]] for e in choose(header["weights"])]
    for w, value in zip(weights, values):
        w.assign(value)
