"""Whole models as Keras 3 ``.keras`` archives: the way up when a model outgrows minigrad.

A ``.keras`` file is a zip archive of three members (Keras's documented format):

* ``metadata.json``: who wrote it and when;
* ``config.json``: the architecture, ``{"module", "class_name", "config",
  "registered_name", "build_config", "compile_config"}`` for the model, whose config
  lists the same four-key dict for every layer. Initializers, regularizers and
  constraints nest the same way (``{"module": "keras.regularizers", "class_name": "L2",
  "config": {"l2": 0.01}, ...}``); activations are plain names (``"relu"``);
* ``model.weights.h5``: the weights, by position (see :mod:`minigrad.saving.h5_weights`).

minigrad's layers take Keras's arguments under Keras's names and their ``get_config``
returns Keras's keys, so saving is mostly a matter of relabelling modules
(``minigrad.initializers`` -> ``keras.initializers``). ``keras.models.load_model`` then
rebuilds the same layer classes with the same configuration and gives the same
predictions, on any of Keras's backends and devices.

One minigrad extension has no Keras counterpart: ``padding="causal"`` on
``SeparableConv1D``/``DepthwiseConv1D``. It is saved as the equivalent pair
``ZeroPadding1D((d*(k-1), 0))`` + the layer with ``padding="valid"`` (the same output:
left zeros, then a valid convolution); the padding layer is named
``<layer name>_causal_padding`` and a pair named that way is read back as one causal layer.

Loading (:func:`load_model`) trusts nothing in the file: members and sizes are checked
before they are read, layer classes are looked up only among minigrad's layers, and
initializers, regularizers, constraints and activations only in minigrad's registries.
Nothing the file names is ever imported or called, so a config naming ``os.system`` as an
activation is refused. A layer class minigrad lacks, an argument it cannot honour, a
family layer combining strides > 1 with dilation > 1, or weights that do not fit: each
is a ``ValueError`` naming the file and the layer.
"""
import datetime
import io
import json
import os
import zipfile

from .files import atomic_write
from . import h5_weights

__all__ = ["save_model"]      # (load_model: keras_load.py)

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
MAX_JSON_BYTES = 64 << 20
OBJECT_MODULES = {"minigrad.initializers": "keras.initializers",
                  "minigrad.variance_scaling": "keras.initializers",   # Glorot, He, LeCun
                  "minigrad.regularizers": "keras.regularizers",
                  "minigrad.constraints": "keras.constraints"}
CAUSAL_FAMILY = ("SeparableConv1D", "DepthwiseConv1D")
FAMILY = CAUSAL_FAMILY + ("SeparableConv2D", "DepthwiseConv2D")
DROPPED_ON_SAVE = ("batch_input_shape", "batch_size", "weights", "input_shape", "input_dim")
# Keras layers whose constructor takes fewer than the usual keys (Keras 3.15's own configs)
ONLY_KEYS = {"SpatialDropout1D": {"rate", "seed", "name", "dtype"},
             "SpatialDropout2D": {"rate", "seed", "name", "dtype", "data_format"}}


def model_layer_list(model):
    """The layers Keras lists for ``model`` (a functional model's inputs included), or
    None for a plain layer.

    Args:
        model (Model or Layer): the object saved.

    Returns:
        list of Layer or None
    """
    from ..models import Functional, Sequential
    if isinstance(model, (Sequential, Functional)):
        return model.layers
    return None


# -- minigrad -> Keras ---------------------------------------------------------------
def _keras_value(value, key, owner):
    if isinstance(value, dict) and "class_name" in value and "module" in value:
        module = value["module"]
        if module not in OBJECT_MODULES:
            raise ValueError(f"Cannot save layer '{owner}' for Keras: its {key} is a "
                             f"{value['class_name']} from {module}, which Keras does not "
                             "have. Use one of minigrad's built-in classes.")
        return {"module": OBJECT_MODULES[module], "class_name": value["class_name"],
                "config": {k: _keras_value(v, key, owner)
                           for k, v in (value.get("config") or {}).items()},
                "registered_name": None}
    if isinstance(value, dict):
        return {k: _keras_value(v, f"{key}.{k}", owner) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_keras_value(v, key, owner) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):                       # NumPy scalars
        return value.item()
    raise ValueError(f"Cannot save layer '{owner}' for Keras: its {key} is "
                     f"{value!r}, a Python object with no Keras configuration (a plain "
                     "function, say). Use a built-in or a class with get_config.")


def _layer_config(layer):
    from .. import activations
    config = layer.get_config()
    for key in DROPPED_ON_SAVE:
        config.pop(key, None)
    only = ONLY_KEYS.get(type(layer).__name__)
    if only is not None:
        config = {k: v for k, v in config.items() if k in only}
    act = config.get("activation")
    if isinstance(act, str) and act not in activations.REGISTRY:
        raise ValueError(f"Cannot save layer '{layer.name}' for Keras: its activation "
                         f"'{act}' is not a built-in activation, so Keras could not rebuild "
                         "it.")
    return {k: _keras_value(v, k, layer.name) for k, v in config.items()}


def _entry(class_name, config, input_shape, module="keras.layers"):
    entry = {"module": module, "class_name": class_name, "config": config,
             "registered_name": None}
    if input_shape is not None:
        entry["build_config"] = {"input_shape": list(input_shape)}
    return entry


def layer_entries(layer, input_shape):
    """The Keras config entries for ``layer`` fed ``input_shape`` (one, or two for a
    causal 1D depthwise/separable layer).

    Args:
        layer (Layer): the layer.
        input_shape (tuple): its input's shape, with the batch axis.

    Returns:
        list of dict
    """
    from ..models import Sequential
    name = type(layer).__name__
    if isinstance(layer, Sequential):
        return [_entry("Sequential", sequential_config(layer), input_shape, "keras")]
    if name not in known_layers() or known_layers()[name] is not type(layer):
        raise ValueError(f"Cannot save layer '{layer.name}' for Keras: its class {name} is "
                         "not one of minigrad's built-in layers, which Keras also has.")
    config = _layer_config(layer)
    if name in CAUSAL_FAMILY and config.get("padding") == "causal":
        d, k = config["dilation_rate"][0], config["kernel_size"][0]
        pad = {"name": f"{layer.name}_causal_padding", "trainable": layer.trainable,
               "dtype": config.get("dtype"), "padding": [d * (k - 1), 0],
               "data_format": config.get("data_format", "channels_last")}
        config["padding"] = "valid"
        padded = list(ZeroPad1D_shape(input_shape, d * (k - 1), pad["data_format"]))
        return [_entry("ZeroPadding1D", pad, input_shape), _entry(name, config, padded)]
    return [_entry(name, config, input_shape)]


def ZeroPad1D_shape(shape, pad, data_format):  # noqa: N802  (named after the layer)
    """The shape after a ZeroPadding1D that adds ``pad`` steps (None stays None).

    Args:
        shape (tuple): the input's shape, with the batch axis.
        pad (int): the steps added.
        data_format (str): "channels_last" or "channels_first".

    Returns:
        list
    """
    axis = 2 if data_format == "channels_first" else 1
    shape = list(shape)
    if shape[axis] is not None:
        shape[axis] += pad
    return shape


def sequential_config(model):
    """The ``config`` of a Sequential model's ``config.json`` entry.

    Args:
        model (Sequential): a built model.

    Returns:
        dict

    Raises:
        ValueError: if the model is not built.
    """
    if not model.built:
        raise ValueError(f"Cannot save model '{model.name}': it is not built yet (call it "
                         "on data, call build(input_shape), or give the first layer an "
                         "input_shape).")
    shape = tuple(model.input_shape)
    input_layer = getattr(model, "_input_layer", None)
    layers = [_entry("InputLayer", {
        "batch_shape": list(shape), "dtype": _dtype_of(model), "sparse": False,
        "ragged": False, "name": input_layer.name if input_layer else "input_layer"}, None)]
    for layer in model.layers:
        layers.extend(layer_entries(layer, shape))
        shape = tuple(layer.compute_output_shape(shape))
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "build_input_shape": list(model.input_shape)}


def _dtype_of(model):
    weights = model.weights
    return str(weights[0].dtype) if weights else "float32"


def model_config(model):
    """The ``config.json`` content for ``model``.

    Args:
        model (Model): the model.

    Returns:
        dict
    """
    from ..models import Sequential
    if isinstance(model, Sequential):
        config = sequential_config(model)
        return {"module": "keras", "class_name": "Sequential", "config": config,
                "registered_name": None,
                "build_config": {"input_shape": config["build_input_shape"]},
                "compile_config": None}
    from ..models import Functional
    if isinstance(model, Functional):
        from .keras_functional import functional_config
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": functional_config(model), "registered_name": "Functional",
                "build_config": {"input_shape": None}, "compile_config": None}
    raise ValueError(f"Cannot save '{model.name}' as a .keras file: it is a subclassed "
                     f"model ({type(model).__name__}), whose call() Keras cannot rebuild "
                     "from a config. Build the same network as a functional model "
                     "(mg.Model(inputs, outputs)) or Sequential to save it whole, or save "
                     "its weights with save_weights('....weights.h5').")


def save_model(model, filepath):
    """Write ``model`` to ``filepath`` as a Keras 3 ``.keras`` archive; returns it.

    Everything is built in memory first: a model Keras could not rebuild is refused with
    a ValueError before any file is created, and the archive appears whole or not at all.

    Args:
        model (Model): the model.
        filepath (str or path): the ``.keras`` file.

    Returns:
        ``filepath``.
    """
    from .. import __version__
    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(f"save: the file name must end in '.keras' (Keras's format). "
                         f"Received: filepath={filepath!r}. For weights only, use "
                         "save_weights('....weights.h5') or '.npz'.")
    config = json.dumps(model_config(model))
    weights = h5_weights.h5_bytes(model)
    metadata = json.dumps({"keras_version": "3.0.0", "minigrad_version": __version__,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    with atomic_write(filepath) as f:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(METADATA, metadata)
            archive.writestr(CONFIG, config)
            archive.writestr(WEIGHTS, weights, compress_type=zipfile.ZIP_STORED)
    return filepath


# -- Keras -> minigrad ---------------------------------------------------------------
def known_layers():
    """minigrad's layer classes by name: the only classes a file can ask for.

    Takes no arguments.

    Returns:
        dict: ``{class name: class}``.
    """
    from .. import layers
    from ..layers.base import Layer
    private = {"Layer", "Conv", "BaseDepthwiseSeparableConv", "InputSpec", "Merge"}
    return {name: obj for name, obj in vars(layers).items()
            if isinstance(obj, type) and issubclass(obj, Layer) and not name.startswith("_")
            and name not in private and obj.__name__ == name}
