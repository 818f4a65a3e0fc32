"""Reading ``.keras`` archives (written by minigrad or by Keras 3) back into minigrad.

The format is described in :mod:`minigrad.saving.keras_archive`. Reading is defensive:

* the zip directory is read first; ``config.json`` and ``model.weights.h5`` must be
  there, the JSON at most 64 MiB, the weights at most a little more than the rebuilt
  model's own weights need (checked before they are decompressed);
* every layer class is looked up among minigrad's layers (``minigrad.layers``), every
  initializer, regularizer, constraint and activation in minigrad's registries by name.
  The ``module`` a file names is never imported and nothing it names is ever called: an
  unknown name is a ``ValueError``;
* a Keras argument minigrad does not have is accepted only at Keras's default value
  (``renorm=False``, ``quantization_config=None``, ...); anything else is refused,
  naming the layer and the argument, rather than silently computing something else;
* a family layer combining strides > 1 with dilation > 1 is refused, naming both;
* the weights are checked group by group against the rebuilt model (count, shapes,
  dtypes) before one is assigned.

Every failure is a ``ValueError`` that starts with the file's name.
"""
import inspect
import io
import json
import os
import zipfile

from . import h5_weights
from .keras_archive import CAUSAL_FAMILY, CONFIG, FAMILY, MAX_JSON_BYTES, WEIGHTS, \
    known_layers

__all__ = ["load_model", "model_from_config"]

_ANY = object()
KERAS_ONLY = {"quantization_config": None, "lora_rank": None, "lora_alpha": None,
              "renorm": False, "renorm_clipping": None, "renorm_momentum": _ANY,
              "synchronized": False, "optional": False, "sparse": False, "ragged": False}


class FileRefused(ValueError):
    """A ValueError about a file, before the file's name is put in front.

    Takes the message, as any exception does.
    """


def _object(value, key, owner):
    """A Keras serialized object as what minigrad's ``get`` accepts (a registry name or a
    ``{"class_name", "config"}`` dict): nothing is imported or called here."""
    if value is None or isinstance(value, str):
        return value
    if not (isinstance(value, dict) and isinstance(value.get("class_name"), str)):
        raise FileRefused(f"layer '{owner}': {key}={value!r} is not a serialized object.")
    if key == "activation" or key.endswith("_activation"):
        if value["class_name"] == "function" and isinstance(value.get("config"), str):
            return value["config"]                   # looked up in minigrad's registry
        return value["class_name"]
    config = value.get("config") or {}
    if not isinstance(config, dict):
        raise FileRefused(f"layer '{owner}': {key} has config {config!r}; expected a dict.")
    return {"class_name": value["class_name"], "config": config}


def _dtype(value):
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    return value


def _accepted(cls):
    from ..layers.base import Layer
    names = set()
    for klass in (cls, Layer):
        params = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                        p.KEYWORD_ONLY)}
    return names - {"self"}


def _kwargs(cls, config, owner):
    accepted = _accepted(cls)
    kwargs = {}
    for key, value in config.items():
        if key == "dtype":
            value = _dtype(value)
        elif key.endswith(("_initializer", "_regularizer", "_constraint")) or \
                key == "activation":
            value = _object(value, key, owner)
        if key in accepted:
            kwargs[key] = value
        elif key in KERAS_ONLY:
            default = KERAS_ONLY[key]
            if default is not _ANY and value != default:
                raise FileRefused(f"layer '{owner}' ({cls.__name__}): {key}={value!r} is a "
                                  f"Keras feature minigrad does not have (only {default!r} "
                                  "can be loaded).")
        else:
            raise FileRefused(f"layer '{owner}' ({cls.__name__}): minigrad's {cls.__name__} "
                              f"has no argument '{key}' (value {value!r}).")
    return kwargs


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_family(class_name, config, owner):
    strides, dilation = _as_list(config.get("strides", 1)), \
        _as_list(config.get("dilation_rate", 1))
    if any(s != 1 for s in strides) and any(d != 1 for d in dilation):
        raise FileRefused(f"layer '{owner}' ({class_name}) combines strides="
                          f"{config.get('strides')!r} with dilation_rate="
                          f"{config.get('dilation_rate')!r}; minigrad's family layers "
                          "allow strides > 1 or dilation_rate > 1, not both.")


def layer_from_entry(entry):
    """A minigrad layer from one Keras layer entry (class looked up in minigrad only).

    Args:
        entry (dict): one layer's entry of ``config.json``.

    Returns:
        Layer
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise FileRefused(f"a layer entry is malformed: {str(entry)[:200]}")
    class_name = entry["class_name"]
    config = entry.get("config") or {}
    if not isinstance(config, dict):
        raise FileRefused(f"layer {class_name}: config {config!r} is not a dict.")
    owner = config.get("name", class_name)
    if class_name == "Sequential":
        return _sequential(config)
    classes = known_layers()
    if class_name not in classes:
        raise FileRefused(f"layer '{owner}' has class {class_name!r}, which minigrad does "
                          f"not have (minigrad's layers: {', '.join(sorted(classes))}).")
    if class_name in FAMILY:
        _check_family(class_name, config, owner)
    cls = classes[class_name]
    try:
        return cls.from_config(_kwargs(cls, config, owner))
    except FileRefused:
        raise
    except (ValueError, TypeError) as e:
        raise FileRefused(f"layer '{owner}' ({class_name}) cannot be rebuilt: {e}") from None


def _fold_causal(entries):
    """Pairs ``<name>_causal_padding`` ZeroPadding1D + valid family layer -> one causal
    layer entry (the pattern :mod:`keras_archive` writes); other entries unchanged."""
    out, i = [], 0
    while i < len(entries):
        entry = entries[i]
        nxt = entries[i + 1] if i + 1 < len(entries) else None
        if isinstance(entry, dict) and entry.get("class_name") == "ZeroPadding1D" and \
                isinstance(nxt, dict) and nxt.get("class_name") in CAUSAL_FAMILY:
            pad, conf = entry.get("config") or {}, dict(nxt.get("config") or {})
            k, d = _as_list(conf.get("kernel_size"))[0], _as_list(conf.get("dilation_rate",
                                                                            1))[0]
            if pad.get("name") == f"{conf.get('name')}_causal_padding" and \
                    conf.get("padding") == "valid" and isinstance(k, int) and \
                    isinstance(d, int) and _as_list(pad.get("padding")) == [d * (k - 1), 0] \
                    and pad.get("data_format", "channels_last") == \
                    conf.get("data_format", "channels_last"):
                conf["padding"] = "causal"
                out.append(dict(nxt, config=conf))
                i += 2
                continue
        out.append(entry)
        i += 1
    return out


def _sequential(config):
    from ..models import Sequential
    from ..layers import InputLayer
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise FileRefused("the Sequential config has no list of layers.")
    model = Sequential(name=config.get("name"), trainable=config.get("trainable", True))
    for entry in _fold_causal(entries):
        if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
            conf = entry.get("config") or {}
            shape = conf.get("batch_shape", conf.get("batch_input_shape"))
            for key in ("sparse", "ragged", "optional"):
                if conf.get(key):
                    raise FileRefused(f"input '{conf.get('name')}' is {key}; minigrad "
                                      "inputs are dense arrays.")
            try:
                model.add(InputLayer(batch_shape=shape, dtype=_dtype(conf.get("dtype")),
                                     name=conf.get("name")))
            except (ValueError, TypeError) as e:
                raise FileRefused(f"input layer cannot be rebuilt: {e}") from None
            continue
        layer = layer_from_entry(entry)
        try:
            model.add(layer)
        except (ValueError, TypeError) as e:
            raise FileRefused(f"layer '{layer.name}' does not fit the model: {e}") from None
    shape = config.get("build_input_shape")
    if not model.built and shape is not None:
        model.build(tuple(shape))
    return model


def model_from_config(config):
    """A minigrad model from the content of a ``config.json`` (fresh weights).

    Args:
        config (dict): the content of ``config.json``.

    Returns:
        Model
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise FileRefused("config.json does not describe a model.")
    name = config["class_name"]
    if name == "Sequential":
        return _sequential(config.get("config") or {})
    if name in ("Functional", "Model"):
        from .keras_functional import functional_from_config
        return functional_from_config(config.get("config") or {})
    raise FileRefused(f"its model class is {name!r}; minigrad can only rebuild Sequential "
                      "and functional models, not subclassed ones.")


def _expected_bytes(groups):
    return sum(v.size * v.dtype.itemsize for _, _, vs in groups for v in vs)


def load_model(filepath):
    """A minigrad model from a ``.keras`` file; ValueError naming the file if it is not
    one minigrad can rebuild.

    Args:
        filepath (str or path): the ``.keras`` file.

    Returns:
        Model

    Raises:
        ValueError: naming the file, for one minigrad cannot rebuild.
    """
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"No model file at {filepath!r}.")
    with open(filepath, "rb") as handle:
        try:
            return _load(handle, filepath)
        except (FileRefused, ImportError) as e:
            if isinstance(e, ImportError):
                raise
            raise ValueError(f"{filepath!r} cannot be loaded: {e}") from None
        except ValueError as e:
            if repr(filepath) in str(e):
                raise
            raise ValueError(f"{filepath!r} cannot be loaded: {e}") from None
        except Exception as e:                     # zipfile, zlib, json, h5py, ...
            raise ValueError(f"{filepath!r} is not a .keras file minigrad can read, or it "
                             f"is truncated or corrupt: {type(e).__name__}: {e}") from None


def _load(handle, filepath):
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile:
        raise FileRefused("it is not a zip archive (a .keras file is one).") from None
    with archive:
        infos = {info.filename: info for info in archive.infolist()}
        if CONFIG not in infos:
            raise FileRefused(f"it has no {CONFIG} (members: {', '.join(list(infos)[:5])}).")
        if WEIGHTS not in infos:
            raise FileRefused(f"it has no {WEIGHTS} (minigrad reads Keras's HDF5 weights; "
                              f"members: {', '.join(list(infos)[:5])}).")
        if infos[CONFIG].file_size > MAX_JSON_BYTES:
            raise FileRefused(f"its {CONFIG} is {infos[CONFIG].file_size} bytes; at most "
                              f"{MAX_JSON_BYTES} expected.")
        config = json.loads(archive.read(CONFIG).decode("utf-8"))
        model = model_from_config(config)
        groups = h5_weights.weight_groups(model)
        limit = 2 * _expected_bytes(groups) + (16 << 20)
        if infos[WEIGHTS].file_size > limit:
            raise FileRefused(f"its {WEIGHTS} is {infos[WEIGHTS].file_size} bytes, far more "
                              f"than the model's weights need.")
        data = archive.read(WEIGHTS)
    with h5_weights.open_h5(io.BytesIO(data), filepath) as h5:
        values = h5_weights.read_groups(h5, groups, filepath, model.name)
    h5_weights.assign(groups, values)
    return model
