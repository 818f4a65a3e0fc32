"""The optional packages behind the interchange formats, imported only when needed.

``.keras`` archives and ``.weights.h5`` files need ``h5py``; ONNX export needs ``onnx``.
Both come with the ``interop`` extra (``pip install "minigrad-edu[interop]"``; in a clone
``pip install -e ".[interop]"``); without them the call that needs one raises an
``ImportError`` saying what to install, and the rest of minigrad (``.npz`` weights
included) works as before.
"""
import importlib

__all__ = ["require"]


def require(module, purpose):
    """Import and return ``module``, or raise ImportError naming the extra to install.

    Args:
        module (str): the module's import name (``"h5py"``, ``"onnx"``).
        purpose (str): what needs it, for the message.

    Returns:
        module

    Raises:
        ImportError: naming the extra to install.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{purpose} needs the optional package '{module}', which is not "
                          f"installed. Install minigrad's interop extra: "
                          f"pip install \"minigrad-edu[interop]\" (or pip install {module}).") \
            from None
