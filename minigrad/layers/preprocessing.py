"""Preprocessing inside the model: ``Rescaling``.

``Rescaling(scale, offset=0.0)`` maps ``x -> x * scale + offset``, e.g. pixel values in
[0, 255] to [0, 1] with ``scale=1/255``, or to [-1, 1] with ``scale=1/127.5,
offset=-1`` (what MobileNet expects). ``scale`` and ``offset`` may be numbers or arrays
that broadcast against one sample (e.g. one value per channel). Integer inputs are cast
to the layer's dtype first. The gradient with respect to the input is ``scale``.
"""
import numbers

import numpy as np

from .. import config as _config, ops
from .base import Layer
from .reference import document


def _factor(value, argument):
    if isinstance(value, bool):
        value = None
    elif isinstance(value, numbers.Real) and np.isfinite(value):
        return float(value)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.dtype.kind != "f" or not np.isfinite(array).all():
        raise TypeError(f"Rescaling: `{argument}` must be a number or an array of finite "
                        f"numbers. Received: {argument}={value!r}")
    return array


class Rescaling(Layer):
    """``inputs * scale + offset`` (any shape; see the module docstring).

    scale: float or array broadcasting against a sample.
    offset: float or array, default 0.
    With ``mg.config.image_data_format() == "channels_first"`` an array ``scale`` of rank
    below 3 gets trailing axes of length 1 (per-channel values then reach the channel
    axis of (C, H, W) samples), as in Keras.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _factor(scale, "scale")
        self.offset = _factor(offset, "offset")

    def call(self, inputs):
        scale = np.asarray(self.scale, dtype=inputs.dtype)
        if scale.ndim and _config.image_data_format() == "channels_first":
            scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
        offset = np.asarray(self.offset, dtype=inputs.dtype)
        return ops.add(ops.multiply(inputs, scale), offset)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        for argument in ("scale", "offset"):
            value = getattr(self, argument)
            config[argument] = value.tolist() if isinstance(value, np.ndarray) else value
        return config


# -- the reference help() shows (assembled by layers/reference.py) -------------------------
document(Rescaling, "Scales and shifts its input, inside the model: pixel values in [0, 255] to "
                    "[0, 1] with ``scale=1/255``, or to [-1, 1] with ``scale=1/127.5, "
                    "offset=-1`` (what MobileNet expects).",
         "y = x * scale + offset\n(integer inputs are cast to the layer's dtype first; "
         "dy/dx = scale)",
         "any shape.", "the input's shape.", "none (``scale`` and ``offset`` are fixed).",
         """
         >>> layers.Rescaling(1 / 127.5, offset=-1.0)(np.array([[0., 255.]])).numpy().tolist()
         [[-1.0, 1.0]]
         """, aliases={"scale": "rescale_scale"},
         notes="With ``mg.config.image_data_format() == \"channels_first\"`` an array "
               "``scale`` of rank below 3 gets trailing axes of length 1, so per-channel values "
               "reach the channel axis of (C, H, W) samples, as in Keras.")
