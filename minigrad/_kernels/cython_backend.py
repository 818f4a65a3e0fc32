"""The ``"cython"`` kernel backend: the kernel functions compiled from ``depthwise.pyx``,
``pointwise.pyx`` (loops on the worker pool of ``pool.pyx``, register-blocked matrix products) and
``normalization.pyx`` (batch normalisation in two passes each way) and ``activation.pyx``
(the capped ReLU in one pass each way).

Importing this module raises ``ImportError`` when the extensions are not built
(``python setup.py build_ext --inplace`` or ``pip install -e .`` builds them).
"""
from .activation import capped_relu_backward, capped_relu_forward
from .depthwise import depthwise_backward, depthwise_backward_input, depthwise_backward_kernel, depthwise_forward
from .normalization import batch_norm_backward, batch_norm_forward
from .pointwise import pointwise_backward, pointwise_backward_input, pointwise_backward_kernel, pointwise_forward

NAME = "cython"

__all__ = ["NAME", "depthwise_forward", "depthwise_backward_input", "depthwise_backward_kernel",
           "depthwise_backward",
           "pointwise_forward", "pointwise_backward_input", "pointwise_backward_kernel",
           "pointwise_backward", "batch_norm_forward", "batch_norm_backward",
           "capped_relu_forward", "capped_relu_backward"]
