"""Activations: the functions layers apply to their output, looked up by name.

    act = activations.get("relu")      # -> activation_functions.relu
    y = act(x)                         # Tensor in, Tensor out, differentiable
    activations.serialize(act)         # -> "relu"

Each name stands for one small function on Tensors in ``minigrad/activation_functions.py``
(grouped by family there; every one is a name of this module too). This module gives them
their names, through one registry, and looks them up.

Supported names (Keras 3's set; aliases in brackets):

    linear, relu, relu6, leaky_relu, elu, selu, celu, gelu, sigmoid, hard_sigmoid,
    hard_silu [hard_swish], silu [swish], tanh, hard_tanh, tanh_shrink, softplus,
    softsign, squareplus, sparse_plus, sparse_sigmoid, mish, exponential, log_sigmoid,
    softmax, log_softmax, glu, sparsemax, hard_shrink, soft_shrink, threshold

``None`` means ``linear``. Unknown strings raise ValueError listing these names.
"""
from .activation_functions import (  # noqa: F401  (every function is a name here too)
    celu, elu, exponential, gelu, glu, hard_shrink, hard_sigmoid, hard_silu, hard_tanh,
    leaky_relu, linear, log_sigmoid, log_softmax, mish, relu, relu6, selu, sigmoid, silu,
    soft_shrink, softmax, softplus, softsign, sparse_plus, sparse_sigmoid, sparsemax, squareplus,
    tanh, tanh_shrink, threshold)
from .registry import Registry

REGISTRY = Registry("activation function")
register = REGISTRY.register

# Each function and its names (the first one canonical: what serialize writes), in the
# families of activation_functions.py.
for _function, _names in [
    (linear, ("linear",)),
    (relu, ("relu",)),
    (relu6, ("relu6",)),
    (leaky_relu, ("leaky_relu",)),
    (elu, ("elu",)),
    (selu, ("selu",)),
    (celu, ("celu",)),
    (gelu, ("gelu",)),
    (sigmoid, ("sigmoid",)),
    (hard_sigmoid, ("hard_sigmoid",)),
    (sparse_sigmoid, ("sparse_sigmoid",)),
    (silu, ("silu", "swish")),
    (hard_silu, ("hard_silu", "hard_swish")),
    (log_sigmoid, ("log_sigmoid",)),
    (tanh, ("tanh",)),
    (hard_tanh, ("hard_tanh",)),
    (tanh_shrink, ("tanh_shrink",)),
    (softplus, ("softplus",)),
    (softsign, ("softsign",)),
    (squareplus, ("squareplus",)),
    (sparse_plus, ("sparse_plus",)),
    (mish, ("mish",)),
    (exponential, ("exponential",)),
    (hard_shrink, ("hard_shrink",)),
    (soft_shrink, ("soft_shrink",)),
    (threshold, ("threshold",)),
    (softmax, ("softmax",)),
    (log_softmax, ("log_softmax",)),
    (glu, ("glu",)),
    (sparsemax, ("sparsemax",)),
]:
    register(*_names)(_function)
del _function, _names


# ------------------------------------------------------------------------ lookup
def serialize(activation):
    """The name of an activation function (None -> "linear").

    Registered functions give their canonical name; other functions with the same
    ``__name__`` as a registered one (e.g. ``ops.relu``) give that name; any other
    named function gives its ``__name__``.

    Args:
        activation (callable or None): the function.

    Returns:
        str

    Example:
        >>> activations.serialize(activations.relu)
        'relu'
    """
    if activation is None:
        return "linear"
    name = REGISTRY.name_of(activation)
    if name is not None:
        return name
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: it is neither a "
                         "registered activation nor a named function.")
    return REGISTRY.name_of(REGISTRY.lookup(name)) if name in REGISTRY else name


def deserialize(name):
    """The activation function named ``name`` (what :func:`serialize` wrote); as :func:`get`.

    Args:
        name (str): a registered name.

    Returns:
        callable

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    return get(name)


def get(identifier):
    """An activation function from a name or a callable (None -> :func:`linear`).

    Args:
        identifier (str, callable or None): a registered name (see the module docstring), any
            function of a Tensor, or None.

    Returns:
        callable

    Raises:
        ValueError: for an unknown name, listing the valid ones.

    Example:
        >>> activations.get(None) is activations.linear
        True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return REGISTRY.lookup(identifier)
    if callable(identifier):
        return identifier
    raise REGISTRY.not_understood(identifier)


swish, hard_swish = silu, hard_silu
