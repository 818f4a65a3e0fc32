"""Global settings: the default image data format, epsilon and float type (as in Keras)."""

_settings = {"image_data_format": "channels_last", "epsilon": 1e-7, "floatx": "float32"}


def image_data_format():
    """``"channels_last"`` (default) or ``"channels_first"``: what ``data_format=None`` means."""
    return _settings["image_data_format"]


def set_image_data_format(data_format):
    """Set the default ``data_format`` of convolution and pooling layers: "channels_last"
    (N, *spatial, C) or "channels_first" (N, C, *spatial); read with :func:`image_data_format`.

    Args:
        data_format (str): "channels_last" or "channels_first".

    Raises:
        ValueError: for any other value.
    """
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format!r}")
    _settings["image_data_format"] = value


def epsilon():
    """The fuzz factor used by constraints and losses (1e-7)."""
    return _settings["epsilon"]


def set_epsilon(value):
    """Set the small constant (default 1e-7) that guards divisions and logarithms in losses,
    normalization and norm constraints; read with :func:`epsilon`.

    Args:
        value (float): the new constant.
    """
    _settings["epsilon"] = float(value)


def floatx():
    """Default float type of layer weights (``"float32"``)."""
    return _settings["floatx"]


def set_floatx(value):
    """Set the default float dtype, "float32" (the default) or "float64", of new weights
    and initializer outputs; read with :func:`floatx`.

    Args:
        value (str): "float32" or "float64".

    Raises:
        ValueError: for any other dtype.
    """
    if value not in ("float32", "float64"):
        raise ValueError(f"floatx must be 'float32' or 'float64', got {value!r}.")
    _settings["floatx"] = value
