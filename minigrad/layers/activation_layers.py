"""Activations as layers, with their own arguments: ``ReLU``, ``LeakyReLU``, ``Softmax``,
and ``Identity`` (the layer that does nothing, handy as a placeholder branch).

Every shape is kept. Formulas (Keras 3)::

    ReLU(max_value=None, negative_slope=0., threshold=0.)
        f(x) = max_value                           x >= max_value
             = x                                   threshold < x < max_value
             = negative_slope * (x - threshold)    otherwise
        ReLU(6.) is MobileNet's ReLU6: min(max(x, 0), 6).
    LeakyReLU(negative_slope=0.3)    x if x > 0 else negative_slope * x
    Softmax(axis=-1)                 e^x / sum(e^x) along ``axis`` (an int or several)
    Identity()                       x

The maths lives in ``minigrad.activations`` and ``minigrad.ops``; these layers check
their arguments once, when constructed, and name the layer in every error.
"""
import numbers
import warnings

import numpy as np

from .. import activations, ops
from ..tensor import Tensor
from .base import Layer
from .reference import document


def _non_negative_number(value, argument, owner, allow_none=False):
    if value is None and allow_none:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not np.isfinite(value) or value < 0):
        raise ValueError(f"{owner}: `{argument}` cannot be None or a negative value; expected "
                         f"a non-negative float. Received: {argument}={value!r}")
    return float(value)


class ReLU(Layer):
    """Rectified linear unit with a ceiling, a leak and a threshold (see module docstring).

    max_value: non-negative float or None (no ceiling).
    negative_slope: non-negative float, slope below the threshold (0).
    threshold: non-negative float below which the output is damped (0).
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative_number(max_value, "max_value", "ReLU", allow_none=True)
        self.negative_slope = _non_negative_number(negative_slope, "negative_slope", "ReLU")
        self.threshold = _non_negative_number(threshold, "threshold", "ReLU")

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(Layer):
    """``x if x > 0 else negative_slope * x``; negative_slope defaults to 0.3 (Keras 3;
    the function ``activations.leaky_relu`` defaults to 0.2). ``alpha=`` is accepted as
    the old name, with a warning."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated. Use `negative_slope` "
                          "instead.", DeprecationWarning, stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative_number(negative_slope, "negative_slope",
                                                   "LeakyReLU")

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class Softmax(Layer):
    """Softmax along ``axis`` (an int, or a tuple/list of ints normalised together).

    ``layer(x, mask=m)``: positions where ``m`` is False (or <= 0.5) get probability 0 and
    the others share the whole mass (as Keras: masked logits are set to -1e9 first).
    ``m`` must broadcast against ``x``.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        items = axis if isinstance(axis, (tuple, list)) else (axis,)
        if not items or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                                for a in items):
            raise TypeError(f"Softmax: `axis` must be an integer or a tuple of integers. "
                            f"Received: axis={axis!r}")
        self.axis = [int(a) for a in axis] if isinstance(axis, (tuple, list)) else int(axis)

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(f"Softmax '{self.name}': axis {a} is out of range for an "
                                 f"input of rank {ndim}. Received: axis={self.axis}")
        return tuple(a % ndim for a in axes)

    def call(self, inputs, mask=None):
        axes = self._axes(inputs.ndim)
        if mask is None:
            return ops.softmax(inputs, axis=axes if len(axes) > 1 else axes[0])
        keep = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        keep = keep if keep.dtype == bool else keep > 0.5
        try:
            keep = np.broadcast_to(keep, inputs.shape)
        except ValueError:
            raise ValueError(f"Softmax '{self.name}': the `mask` must be broadcastable to the "
                             f"inputs. Received: inputs.shape={inputs.shape}, "
                             f"mask.shape={keep.shape}") from None
        logits = ops.where(keep, inputs, np.asarray(-1e9, inputs.dtype))
        out = ops.softmax(logits, axis=axes if len(axes) > 1 else axes[0])
        return ops.where(keep, out, np.asarray(0, inputs.dtype))

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Identity(Layer):
    """Returns its input unchanged (no weights, any shape)."""

    def call(self, inputs):
        return inputs


# -- the reference help() shows (assembled by layers/reference.py) -------------------------
document(ReLU, "Rectified linear unit with an optional ceiling, leak and threshold (Keras 3); "
               "the layer form of ``activations.relu``.",
         """f(x) = max_value                           x >= max_value
     = x                                   threshold < x < max_value
     = negative_slope * (x - threshold)    otherwise
ReLU(6.) is MobileNet's ReLU6: min(max(x, 0), 6).""",
         "any shape.", "the input's shape.", "none.",
         ("ReLU(max_value=6.0)", (2, 5), (2, 5), 0))
document(LeakyReLU, "Leaky rectified linear unit: a small slope instead of 0 for negative "
                    "inputs.",
         "f(x) = x                     x > 0\n     = negative_slope * x      otherwise",
         "any shape.", "the input's shape.", "none.",
         """
         >>> layers.LeakyReLU(0.5)(np.array([[-2., 3.]])).numpy().tolist()
         [[-1.0, 3.0]]
         """, aliases={"negative_slope": "leaky_negative_slope"})
document(Softmax, "Softmax along ``axis``: turns scores into probabilities that sum to 1.",
         "y = exp(x - max x) / sum(exp(x - max x)), the sums and max over ``axis``\n"
         "layer(x, mask=m): where m is False (or <= 0.5) y = 0 and the other positions share "
         "the whole mass (masked scores are set to -1e9 first, as in Keras); m broadcasts "
         "against x.",
         "any shape.", "the input's shape.", "none.",
         """
         >>> layers.Softmax()(np.array([[0., 0., np.log(2.)]])).numpy().round(3).tolist()
         [[0.25, 0.25, 0.5]]
         """, aliases={"axis": "softmax_axis"})
document(Identity, "Returns its input unchanged: a placeholder branch, or the no-op in a "
                   "list of layers.",
         "y = x", "any shape.", "the input's shape.", "none.",
         ("Identity()", (2, 5), (2, 5), 0),
         aliases={"kwargs": "layer_kwargs", "activity_regularizer": "output_activity_regularizer"})
