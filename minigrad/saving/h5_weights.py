"""Weights in Keras 3's HDF5 layout: ``.weights.h5`` files and the ``model.weights.h5``
inside a ``.keras`` archive.

Keras stores variables by *position*, not by name. The file has one group per layer,
in the model's layer order, named after the layer's class in snake case, numbered from
the second of a kind on (``layers/dense``, ``layers/dense_1``, ...; the names a user gave
the layers are kept only as an attribute). Each group has a ``vars`` subgroup whose
datasets ``"0"``, ``"1"``, ... are the layer's weights in ``layer.weights`` order (for a
SeparableConv2D: depthwise kernel, pointwise kernel, bias). The model itself has a top
level ``vars`` group (empty for Sequential), and a nested model repeats the pattern under
its own group (``layers/sequential/layers/dense/vars/0``). So a file fits any model with
the same layer classes in the same order and the same shapes, whatever the layers are
called, and a file written by Keras for the same architecture loads here and back.

A causal ``SeparableConv1D``/``DepthwiseConv1D`` is two layers to Keras (a
``ZeroPadding1D`` and the layer with ``padding="valid"``, see
:mod:`minigrad.saving.keras_archive`), so its weights sit one group further on.

Loading checks every group's count and every dataset's shape and dtype against the model,
and refuses links to other files, before it reads a single value, then assigns all weights at once: a file that does not
fit raises ``ValueError`` naming the file and the layer, and changes nothing.
"""
import io
import os
import re

import numpy as np

from .files import atomic_write
from .optional import require

__all__ = ["save_weights", "load_weights", "weight_groups", "snake_case"]


def snake_case(name):
    """Keras's group name for a class name: ``SeparableConv2D`` -> ``separable_conv2d``.

    Args:
        name (str): a class name.

    Returns:
        str
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def keras_layers(layer):
    """``layer`` as the list of ``(class name, minigrad layer or None)`` Keras sees: one
    entry, or two for a causal 1D depthwise/separable layer (padding, then the layer).

    Args:
        layer (Layer): the layer.

    Returns:
        list of tuple
    """
    if getattr(layer, "padding", None) == "causal" and \
            type(layer).__name__ in ("SeparableConv1D", "DepthwiseConv1D"):
        return [("ZeroPadding1D", None), (type(layer).__name__, layer)]
    return [(type(layer).__name__, layer)]


def model_layers(model):
    """The layers Keras lists for ``model`` (its ``layers`` property), in order.

    Args:
        model (Model): the model.

    Returns:
        list of Layer
    """
    from .keras_archive import model_layer_list
    return model_layer_list(model)


def weight_groups(obj, prefix=""):
    """``[(group path, layer name, [variables])]`` for ``obj`` in Keras's order.

    Args:
        obj (Model or Layer): whose weights.
        prefix (str, default ""): the group path above ``obj``'s.

    Returns:
        list of tuple
    """
    from ..layers.base import Layer
    if not isinstance(obj, Layer):
        raise TypeError(f"Expected a minigrad Layer or model, got {type(obj).__name__}.")
    sub = model_layers(obj)
    if sub is None:                                 # a plain layer: its own vars only
        return [(prefix, obj.name, list(obj.weights))]
    groups = [(prefix, obj.name, [])]
    used = {}
    for layer in sub:
        for class_name, part in keras_layers(layer):
            path = f"{prefix}/layers/" if prefix else "layers/"
            path += _unique(snake_case(class_name), used)
            if part is None:
                groups.append((path, layer.name + "_causal_padding", []))
            else:
                groups.extend(weight_groups(part, path))
    return groups


def _vars_path(path):
    return f"{path}/vars" if path else "vars"


def write_groups(h5, groups):
    """Write each group's variables as datasets ``0``, ``1``, ... under its path.

    Args:
        h5 (h5py.File): the file open for writing.
        groups (list of tuple): from :func:`weight_groups`.
    """
    for path, name, variables in groups:
        group = h5.create_group(_vars_path(path))
        group.attrs["name"] = name
        for i, v in enumerate(variables):
            group.create_dataset(str(i), data=np.asarray(v.data))


def h5_bytes(obj):
    """The weights of ``obj`` as the bytes of a Keras HDF5 weights file.

    Args:
        obj (Model or Layer): whose weights.

    Returns:
        bytes
    """
    h5py = require("h5py", "Writing Keras weights (.keras, .weights.h5)")
    groups = weight_groups(obj)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        write_groups(h5, groups)
    return buffer.getvalue()


def read_groups(h5, groups, filepath, owner):
    """The arrays for ``groups`` from an open h5 file, every shape checked first.

    Args:
        h5 (h5py.File): the open file.
        groups (list of tuple): from :func:`weight_groups`.
        filepath (str): named in the error messages.
        owner (str): the model or layer named in the error messages.

    Returns:
        list of ndarray

    Raises:
        ValueError: for a missing group or a shape that differs.
    """
    h5py = require("h5py", "Reading Keras weights")
    where = f"Weights file {filepath!r} does not fit '{owner}'"
    datasets = []
    for path, name, variables in groups:
        group = h5.get(_vars_path(path))
        if group is not None and not isinstance(group, h5py.Group):
            raise ValueError(f"{where}: '{_vars_path(path)}' is not a group.")
        stored = len(group) if group is not None else 0
        if stored != len(variables):
            raise ValueError(f"{where}: layer '{name}' (group '{path or '/'}') has "
                             f"{len(variables)} weights, the file has {stored} there.")
        for i, v in enumerate(variables):
            ds = group.get(str(i))
            if not isinstance(ds, h5py.Dataset):
                raise ValueError(f"{where}: no dataset '{_vars_path(path)}/{i}' for weight "
                                 f"'{v.name}' of layer '{name}'.")
            if tuple(ds.shape) != tuple(v.shape) or ds.dtype.kind not in "biuf":
                raise ValueError(f"{where}: weight '{v.name}' of layer '{name}' has shape "
                                 f"{tuple(v.shape)}, the file's '{_vars_path(path)}/{i}' is "
                                 f"{ds.dtype} of shape {tuple(ds.shape)}.")
            datasets.append(ds)
    _refuse_extra_layers(h5, groups, where)
    _refuse_links(h5, datasets, where)
    return [np.asarray(ds[()]) for ds in datasets]


def _refuse_links(h5, datasets, where):
    """Only data inside the file itself: an external or soft link, an external storage
    file or a virtual dataset would make reading it open other files on this machine."""
    h5py = require("h5py", "Reading Keras weights")
    links = []
    h5.visititems_links(lambda name, link: links.append(name)
                        if not isinstance(link, h5py.HardLink) else None)
    stored_elsewhere = [ds.name for ds in datasets if ds.external or ds.is_virtual]
    if links or stored_elsewhere:
        raise ValueError(f"{where}: it refers to data outside itself "
                         f"({', '.join((links + stored_elsewhere)[:5])}); minigrad only "
                         "reads weights stored in the file.")


def _refuse_extra_layers(h5, groups, where):
    """A file with weights for layers the model lacks does not fit it either."""
    known = {path for path, _, _ in groups}
    extra = []

    def visit(name, obj):
        if name.endswith("/vars") and len(obj) and name[:-5] not in known and \
                name.startswith("layers/"):
            extra.append(name[:-5])
    h5.visititems(visit)
    if extra:
        raise ValueError(f"{where}: the file has weights for layers the model lacks: "
                         f"{', '.join(sorted(extra)[:5])}.")


def assign(groups, values):
    """Assign ``values`` to the groups' variables, in order (each cast to its dtype).

    Args:
        groups (list of tuple): from :func:`weight_groups`.
        values (list of ndarray): from :func:`read_groups`.
    """
    variables = [v for _, _, vs in groups for v in vs]
    for v, value in zip(variables, values):
        v.assign(value.astype(v.dtype, copy=False))


def open_h5(source, filepath):
    """An open read-only h5py File on ``source`` (a path or a file object), or a
    ValueError naming ``filepath`` when it is not HDF5.

    Args:
        source (str, path or file object): what to open.
        filepath (str): named in the error message.

    Returns:
        h5py.File

    Raises:
        ValueError: when it is not HDF5.
    """
    h5py = require("h5py", "Reading Keras weights (.keras, .weights.h5)")
    try:
        return h5py.File(source, "r")
    except Exception as e:
        raise ValueError(f"{filepath!r} is not a Keras weights file (HDF5), or it is "
                         f"truncated or corrupt: {type(e).__name__}: {e}") from None


def save_weights(obj, filepath):
    """Write the weights of ``obj`` to ``filepath`` in Keras's HDF5 layout; returns it.

    Args:
        obj (Model or Layer): whose weights.
        filepath (str or path): the ``.weights.h5`` file.
    """
    filepath = os.fspath(filepath)
    data = h5_bytes(obj)
    with atomic_write(filepath) as f:
        f.write(data)
    return filepath


def load_weights(obj, filepath):
    """Load a Keras HDF5 weights file into ``obj``; all-or-nothing.

    Args:
        obj (Model or Layer): whose weights.
        filepath (str or path): the ``.weights.h5`` file.

    Raises:
        ValueError: if the file does not fit ``obj``; nothing changes then.
    """
    filepath = os.fspath(filepath)
    if not getattr(obj, "built", True):
        raise ValueError(f"'{obj.name}' is not built yet, so it has no weights to load. "
                         "Build it first (call it on data or call `build(input_shape)`).")
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"No weights file at {filepath!r}.")
    groups = weight_groups(obj)
    with open_h5(filepath, filepath) as h5:
        try:
            values = read_groups(h5, groups, filepath, obj.name)
        except ValueError:
            raise
        except Exception as e:
            raise ValueError(f"{filepath!r} is truncated or corrupt: "
                             f"{type(e).__name__}: {e}") from None
    assign(groups, values)
