"""``SpatialDropout1D`` / ``SpatialDropout2D``: dropout of whole feature maps.

Neighbouring steps or pixels of one channel are strongly correlated, so dropping single
elements barely regularises a convolutional network: the neighbours carry the same
information. These layers draw one keep/drop decision per (sample, channel) and apply it
to every step or pixel of that channel::

    SpatialDropout1D(rate)   (N, L, C):      mask shape (N, 1, C)
    SpatialDropout2D(rate)   (N, H, W, C):   mask shape (N, 1, 1, C)   channels_last
                             (N, C, H, W):   mask shape (N, C, 1, 1)   channels_first

Kept channels are scaled by 1 / (1 - rate); nothing happens unless ``training=True``.
The mask and scale are the ``dropout`` op of :mod:`minigrad.layers.core` with a
broadcasting ``noise_shape``.
"""
from .base import InputSpec
from .core import Dropout, standardize_data_format
from .reference import document


class SpatialDropout1D(Dropout):
    """Drop whole channels of (N, L, C) sequences with probability ``rate`` (in [0, 1)).

    seed: int for a reproducible sequence of masks.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def _noise_shape(self, shape):
        return (shape[0], 1, shape[2])

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape", None)
        return config


class SpatialDropout2D(Dropout):
    """Drop whole channels of images with probability ``rate`` (in [0, 1)).

    data_format: ``"channels_last"`` (N, H, W, C) or ``"channels_first"`` (N, C, H, W);
    None means ``mg.config.image_data_format()``.
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = standardize_data_format(data_format, "SpatialDropout2D")
        self.input_spec = InputSpec(ndim=4)

    def _noise_shape(self, shape):
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1)
        return (shape[0], 1, 1, shape[3])

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape", None)
        config["data_format"] = self.data_format
        return config


# -- the reference help() shows (assembled by layers/reference.py) -------------------------
document(SpatialDropout1D, "Dropout of whole channels of a sequence: one keep/drop decision per "
                           "(sample, channel), applied to every step of that channel.",
         "training=True:  y = x * mask / (1 - rate),   mask ~ Bernoulli(1 - rate), shape "
         "(batch, 1, channels)\notherwise:      y = x",
         "(batch, steps, channels).", "the input's shape.", "none.",
         ("SpatialDropout1D(0.5)", (4, 10, 3), (4, 10, 3), 0),
         notes="Neighbouring steps of one channel are strongly correlated, so dropping single "
               "elements barely regularises a convolutional network; dropping whole channels "
               "does.")
document(SpatialDropout2D, "Dropout of whole feature maps of an image: one keep/drop decision "
                           "per (sample, channel), applied to every pixel of that channel.",
         "training=True:  y = x * mask / (1 - rate),   mask ~ Bernoulli(1 - rate), shape "
         "(batch, 1, 1, channels)\n                (batch, channels, 1, 1) with channels_first\n"
         "otherwise:      y = x",
         "(batch, rows, cols, channels) with channels_last, (batch, "
         "channels, rows, cols) with channels_first.", "the input's shape.", "none.",
         ("SpatialDropout2D(0.5)", (2, 8, 8, 3), (2, 8, 8, 3), 0),
         aliases={"data_format": "spatial_data_format"})
