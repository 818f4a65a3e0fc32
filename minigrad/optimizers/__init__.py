"""Optimizers: turn gradients into weight updates, with Keras 3's arguments, defaults and
formulas. One file per family; the step they share (clipping, decoupled weight decay,
constraints, the iteration count, all-or-nothing commits) is written once in
:mod:`.base`, and learning-rate schedules live in :mod:`.schedules`.

    ===========  ==========  ===============================================
    name         class       file
    ===========  ==========  ===============================================
    "sgd"        SGD         sgd.py      (momentum, Nesterov)
    "adam"       Adam        adam.py     (amsgrad)
    "adamw"      AdamW       adam.py     (Adam + weight_decay=0.004)
    "rmsprop"    RMSprop     rmsprop.py  (rho, momentum, centered)
    "adagrad"    Adagrad     adagrad.py
    "adamax"     Adamax      adamax.py
    "nadam"      Nadam       nadam.py
    ===========  ==========  ===============================================

``optimizers.get("adam")`` (what ``compile(optimizer="adam")`` calls) builds one with its
defaults; ``serialize``/``deserialize`` round-trip any of them, schedule included.
"""
from . import schedules
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .base import (REGISTRY, Optimizer, clip_by_global_norm, clip_by_norm,
                   clip_by_value)
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Nadam",
           "schedules", "get", "serialize", "deserialize", "clip_by_norm",
           "clip_by_global_norm", "clip_by_value"]


def serialize(optimizer):
    """An optimizer as a Keras-style dict: ``{"module", "class_name", "config",
    "registered_name"}``.

    Args:
        optimizer (Optimizer or None): the optimizer (its schedule included).

    Returns:
        dict or None: None for None.

    Example:
        >>> optimizers.serialize(optimizers.SGD(name="sgd"))["config"]["learning_rate"]
        0.01
    """
    return REGISTRY.serialize(optimizer)


def deserialize(config):
    """An optimizer rebuilt from :func:`serialize`'s dict.

    Args:
        config (dict): what :func:`serialize` returned.

    Returns:
        Optimizer: a new one, with no slots yet (``iterations`` 0).

    Raises:
        ValueError: if ``config`` is not such a dict or names no known optimizer.
    """
    return REGISTRY.deserialize(config)


def get(identifier):
    """An optimizer from a name (``"sgd"``, ``"adam"``, ...), class, instance or config
    dict: what ``compile(optimizer="adam")`` calls.

    Args:
        identifier (str, type, Optimizer or dict): a name or class gives one with its
            defaults; an instance passes through; a dict is deserialized.

    Returns:
        Optimizer

    Raises:
        ValueError: for anything else, listing the valid names.

    Example:
        >>> type(optimizers.get("adam")).__name__
        'Adam'
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return REGISTRY.lookup(identifier)()
    if isinstance(identifier, dict):
        return REGISTRY.deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise REGISTRY.not_understood(identifier)
