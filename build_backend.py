"""minigrad's build backend: setuptools' own, asking pip for Cython only when a kernel has to
be compiled.

pip builds each install in a fresh environment holding ``[build-system] requires`` from
``pyproject.toml`` (setuptools alone here) plus whatever ``get_requires_for_build_wheel`` /
``get_requires_for_build_editable`` answer. Installing the kernels' build requirements into
that environment (Cython, NumPy and SciPy until now) was most of the time a repeat install
took, and it is wasted when every compiled
kernel is already in ``build/kernel-cache/`` (``setup.py`` explains the cache). So these two
hooks ask ``setup.py``'s ``kernel_build_requirements()``: Cython when something must be
compiled, nothing when the cache has every kernel or there is no C compiler.

Two more differences from setuptools' backend, both to save a repeat install a full run of
``setup.py`` each:

* The requirement hooks do not run ``setup.py egg_info``: setuptools runs it only to collect
  ``setup_requires``, which ``setup.py`` does not use.
* There is no ``prepare_metadata_for_build_wheel`` / ``..._editable`` hook: pip then takes the
  metadata from the wheel it builds (PEP 517's fallback) and installs that same wheel instead
  of building it a second time.

The remaining hooks are setuptools' unchanged. ``pyproject.toml`` points pip here with
``build-backend = "build_backend"`` and ``backend-path = ["."]``.
"""
import importlib.util
import os

from setuptools import build_meta as _setuptools

build_wheel = _setuptools.build_wheel
build_editable = _setuptools.build_editable
build_sdist = _setuptools.build_sdist
get_requires_for_build_sdist = _setuptools.get_requires_for_build_sdist


def _setup_module():
    """``setup.py``'s helpers (it calls ``setup()`` only when run as ``__main__``)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "setup.py")
    spec = importlib.util.spec_from_file_location("minigrad_setup", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def get_requires_for_build_wheel(config_settings=None):
    return _setup_module().kernel_build_requirements()


def get_requires_for_build_editable(config_settings=None):
    return _setup_module().kernel_build_requirements()
