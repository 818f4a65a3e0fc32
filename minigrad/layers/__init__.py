"""Keras-style layers. ``Layer`` is the shared base; each module holds one family."""
from .base import InputSpec, Layer, clear_session  # noqa: F401
from .conv import Conv, Conv1D, Conv2D, Convolution1D, Convolution2D  # noqa: F401
from .depthwise_separable import (  # noqa: F401
    BaseDepthwiseSeparableConv, DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D,
    SeparableConv2D, SeparableConvolution1D, SeparableConvolution2D,
)
from .core import (  # noqa: F401
    Activation, ActivityRegularization, Dense, Dropout, Flatten, Input, InputLayer, Reshape,
)
from .normalization import BatchNormalization  # noqa: F401
from .pooling import (  # noqa: F401
    AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D,
)
from .merging import (  # noqa: F401
    Add, Average, Concatenate, Maximum, Merge, Minimum, Multiply, Subtract,
)
from .reshaping import (  # noqa: F401
    Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
)
from .activation_layers import Identity, LeakyReLU, ReLU, Softmax  # noqa: F401
from .preprocessing import Rescaling  # noqa: F401
from .normalization import LayerNormalization  # noqa: F401
from .spatial_dropout import SpatialDropout1D, SpatialDropout2D  # noqa: F401
