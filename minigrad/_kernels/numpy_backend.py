"""The ``"numpy"`` kernel backend: the kernel functions from the readable NumPy twins.

``depthwise_twin.py``, ``pointwise_twin.py``, ``normalization_twin.py`` and
``activation_twin.py`` hold the code; this module only gathers the functions under the
names every backend shares (see ``minigrad/_kernels/__init__.py``).
"""
from .activation_twin import capped_relu_backward, capped_relu_forward
from .depthwise_twin import depthwise_backward, depthwise_backward_input, depthwise_backward_kernel, depthwise_forward
from .normalization_twin import batch_norm_backward, batch_norm_forward
from .pointwise_twin import pointwise_backward, pointwise_backward_input, pointwise_backward_kernel, pointwise_forward

NAME = "numpy"

__all__ = ["NAME", "depthwise_forward", "depthwise_backward_input", "depthwise_backward_kernel",
           "depthwise_backward",
           "pointwise_forward", "pointwise_backward_input", "pointwise_backward_kernel",
           "pointwise_backward", "batch_norm_forward", "batch_norm_backward",
           "capped_relu_forward", "capped_relu_backward"]
