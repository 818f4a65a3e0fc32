"""Keras-style layers. ``Layer`` is the shared base; each module holds one family."""
from .base import InputSpec, Layer, clear_session  # noqa: F401
