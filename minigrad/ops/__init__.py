"""Differentiable functions on Tensors: everything the layers are built from.

``math``         arithmetic (and the helpers every op module uses)
``elementwise``  exp, log, sqrt, square, erf, abs, clip, where, stop_gradient
``reductions``   sum, mean, max, min (and broadcast_to, sum's gradient)
``shapes``       reshape, transpose, indexing, pad, concatenate, stack, cast
``nn``           activation functions, sparsemax, dropout, sigmoid cross-entropy
``convolution``  depthwise, separable and full convolutions on the Cython kernels
``geometry``     convolution / pooling arguments: checks, bounds, padding, output lengths
``use_kernels``  switch the convolutions between the compiled kernels and their NumPy twins
``pooling``      max and average pooling (``pool``)
``normalization`` batch normalisation (``batch_norm``)
"""
from .math import (  # noqa: F401
    add, as_tensor, divide, matmul, maximum, minimum, multiply, negative, power, subtract,
    unbroadcast,
)
from .elementwise import (  # noqa: F401
    abs, clip, erf, exp, log, sqrt, square, stop_gradient, where,
)
from .reductions import broadcast_to, max, mean, min, sum  # noqa: F401
from .shapes import (  # noqa: F401
    cast, concatenate, getitem, pad, reshape, scatter, stack, transpose,
)
from .nn import (  # noqa: F401
    dropout, elu, exponential, gelu, hard_sigmoid, leaky_relu, log_sigmoid, log_softmax, mish,
    relu, relu6, selu, sigmoid, sigmoid_cross_entropy_with_logits, silu, softmax, softplus,
    softsign, sparse_softmax_cross_entropy_with_logits, sparsemax, swish, tanh,
)
from .convolution import (  # noqa: F401
    conv, conv_output_length, conv_padding, depthwise_conv, separable_conv, use_kernels,
)
from .pooling import pool  # noqa: F401,E402
from .normalization import batch_norm  # noqa: F401,E402
