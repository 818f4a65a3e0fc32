"""What a layer accepts: :class:`InputSpec` (the rank and axis sizes every call is checked
against), the ``dtype`` argument, and the Keras 2 input-shape keywords (``input_shape``,
``batch_input_shape``, ``batch_size``, ``input_dim``) every layer takes. :class:`Layer`
(``layers/base.py``) uses them; ``InputSpec`` is also ``minigrad.layers.InputSpec``.
"""
import numpy as np

from .. import config as _config


class InputSpec:
    """What a layer accepts: a rank (``ndim`` or ``min_ndim``) and fixed axis sizes.

    Args:
        ndim (int or None, default None): the exact rank required.
        min_ndim (int or None, default None): the smallest rank accepted.
        axes (dict or None, default None): ``{axis: size}`` sizes that must match.
    """

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.ndim, self.min_ndim, self.axes = ndim, min_ndim, dict(axes or {})

    def check(self, layer_name, shape):
        if self.ndim is not None and len(shape) != self.ndim:
            raise ValueError(f"Input 0 of layer '{layer_name}' is incompatible with the layer: "
                             f"expected ndim={self.ndim}, found ndim={len(shape)}. Full shape "
                             f"received: {tuple(shape)}")
        if self.min_ndim is not None and len(shape) < self.min_ndim:
            raise ValueError(f"Input 0 of layer '{layer_name}' is incompatible with the layer: "
                             f"expected min_ndim={self.min_ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {tuple(shape)}")
        for axis, size in self.axes.items():
            if shape[axis] is not None and shape[axis] != size:
                raise ValueError(f"Input 0 of layer '{layer_name}' is incompatible with the "
                                 f"layer: expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape {tuple(shape)}")


def _normalize_dtype(dtype):
    if dtype is None:
        return np.dtype(_config.floatx())
    try:
        value = np.dtype(getattr(dtype, "name", dtype))
    except TypeError:
        value = None
    if value is None or value not in (np.float32, np.float64):
        raise ValueError(f"Invalid dtype {dtype!r}: minigrad layers compute in 'float32' or "
                         "'float64'.")
    return value


def _batch_input_shape(input_shape, batch_input_shape, batch_size, input_dim):
    if input_dim is not None and input_shape is None:
        input_shape = (input_dim,)
    if batch_input_shape is not None:
        shape = tuple(None if s is None else int(s) for s in batch_input_shape)
        if batch_size is not None and shape[0] is not None and shape[0] != batch_size:
            raise ValueError(f"batch_size={batch_size} contradicts batch_input_shape="
                             f"{tuple(batch_input_shape)}.")
        return shape if batch_size is None else (int(batch_size),) + shape[1:]
    if input_shape is not None:
        if isinstance(input_shape, (int, np.integer)):
            input_shape = (input_shape,)
        shape = tuple(None if s is None else int(s) for s in input_shape)
        for s in shape:
            if s is not None and s <= 0:
                raise ValueError(f"input_shape must contain positive sizes, got {input_shape}.")
        return (None if batch_size is None else int(batch_size),) + shape
    if batch_size is not None:
        raise ValueError("batch_size was given without input_shape; pass both (or "
                         "batch_input_shape).")
    return None
