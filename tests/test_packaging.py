"""Packaging: optional kernels (no compiler, no failure), the build cache, what ships.

The build tests run ``setup.py build_ext --inplace`` on a copy of the sources in a temporary
directory, so they never touch this checkout's compiled kernels.
"""
import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

import minigrad

ROOT = pathlib.Path(__file__).resolve().parents[1]
KERNEL_SOURCES = sorted((ROOT / "minigrad" / "_kernels").glob("*.pyx"))
pytest.importorskip("Cython")
# setup.py is run here; pyproject.toml's SPDX license string needs setuptools 77 (the test extra has it)
pytest.importorskip("setuptools", minversion="77")


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)        # defines the helpers; setup() runs only as __main__
    return module


def _setup_module():
    return _load(ROOT / "setup.py", "minigrad_setup")


def _copy_sources(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "minigrad", copy / "minigrad",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__"))
    for name in ("setup.py", "build_backend.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    return copy


def _build(copy, **env):
    # each test says for itself whether a failed build is an error (CI sets it for its install)
    environ = {k: v for k, v in os.environ.items() if k != "MINIGRAD_REQUIRE_KERNELS"}
    environ.update(env)
    return subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=copy,
                          env=environ, capture_output=True, text=True, timeout=300)


def test_kernel_sources_ship_with_the_package():
    """Tutorial 02 reads the .pyx beside the installed package (wheel, sdist or checkout)."""
    kernels = pathlib.Path(minigrad._kernels.__file__).parent
    assert KERNEL_SOURCES and all((kernels / p.name).is_file() for p in KERNEL_SOURCES)
    assert (kernels / "depthwise_twin.py").is_file() and (kernels / "pointwise_twin.py").is_file()


def test_distribution_name_and_package_data():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["name"] == "minigrad-edu"          # `minigrad` on PyPI is taken
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "minigrad.__version__"}
    shipped = project["tool"]["setuptools"]["package-data"]["minigrad"]
    assert "_kernels/*.pyx" in shipped and "_kernels/*.pxd" in shipped


def test_cache_key_follows_sources_and_flags(tmp_path):
    setup = _setup_module()
    copy = _copy_sources(tmp_path)
    cwd = os.getcwd()
    os.chdir(copy)
    try:
        (ext, *_) = setup._extensions()
        key = setup._cache_key(ext, ["-O3"], [])
        assert setup._cache_key(ext, ["-O3"], []) == key                       # deterministic
        assert setup._cache_key(ext, ["-O2"], []) != key                       # flags
        pxd = pathlib.Path(ext.sources[0]).with_name("extra.pxd")
        pxd.write_text("# a header the kernel could cimport\n")
        assert setup._cache_key(ext, ["-O3"], []) != key                       # neighbours
        pxd.unlink()
        pyx = pathlib.Path(ext.sources[0])
        pyx.write_text(pyx.read_text() + "\n# edited\n")
        assert setup._cache_key(ext, ["-O3"], []) != key                       # the source
    finally:
        os.chdir(cwd)


def test_a_changed_header_rebuilds_the_kernels():
    """The kernels include C headers (simd.h, gemm.h): setuptools recompiles when one of them
    is newer than the binary only if it is listed in the extension's ``depends``."""
    setup = _setup_module()
    for ext in setup._extensions():
        folder = pathlib.Path(ext.sources[0]).parent
        headers = {str(path) for pattern in ("*.h", "*.pxi") for path in folder.glob(pattern)}
        assert headers and headers <= set(ext.depends), ext.name


def test_build_system_asks_pip_for_setuptools_only():
    """Cython comes from build_backend.py's hooks, and only when needed (below)."""
    tomllib = pytest.importorskip("tomllib")
    build_system = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    assert build_system == {"requires": ["setuptools>=77"], "build-backend": "build_backend",
                            "backend-path": ["."]}
    assert "include build_backend.py" in (ROOT / "MANIFEST.in").read_text()    # in the sdist too


def test_build_backend_leaves_metadata_to_the_built_wheel():
    """Without prepare_metadata_* hooks pip reads the metadata from the wheel it builds and
    installs that wheel (PEP 517's fallback): setup.py runs once per install, not twice."""
    backend = _load(ROOT / "build_backend.py", "minigrad_build_backend")
    for hook in ("build_wheel", "build_editable", "build_sdist", "get_requires_for_build_wheel",
                 "get_requires_for_build_editable", "get_requires_for_build_sdist"):
        assert callable(getattr(backend, hook)), hook
    assert not hasattr(backend, "prepare_metadata_for_build_wheel")
    assert not hasattr(backend, "prepare_metadata_for_build_editable")


def test_kernels_use_no_numpy_headers_and_need_only_what_the_build_asks_for():
    """Why the cache key may leave NumPy's version out (setup.py's docstring): nothing of
    NumPy's C API is compiled into the kernels. And a kernel that cimports SciPy's BLAS
    needs SciPy among the build requirements."""
    requires = _setup_module().KERNEL_BUILD_REQUIRES
    sources = [*KERNEL_SOURCES, *(ROOT / "minigrad" / "_kernels").glob("*.pxd"),
               *(ROOT / "minigrad" / "_kernels").glob("*.h")]
    for path in sources:
        text = path.read_text()
        assert "cimport numpy" not in text and "numpy/" not in text, path.name
        if re.search(r"^\s*(from|cimport)\s+scipy\b", text, re.M):
            assert any(r.startswith("scipy") for r in requires), path.name


@pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc").split()[0]) is None,
                    reason="no C compiler: the build needs nothing to compile with then")
def test_build_requirements_only_when_a_kernel_is_not_cached(tmp_path, monkeypatch):
    copy = _copy_sources(tmp_path)
    cache = tmp_path / "cache"
    monkeypatch.chdir(copy)
    monkeypatch.setenv("MINIGRAD_BUILD_CACHE", str(cache))
    monkeypatch.delenv("CC", raising=False)
    backend = _load(copy / "build_backend.py", "minigrad_build_backend")
    setup = _load(copy / "setup.py", "minigrad_setup")
    needed = setup.KERNEL_BUILD_REQUIRES
    assert "Cython>=3.0" in needed and not any(r.lower().startswith("numpy") for r in needed)
    assert backend.get_requires_for_build_editable() == needed            # empty cache
    compile_args, link_args = setup._flags()
    entries = [pathlib.Path(setup._cached_path(ext, compile_args, link_args, str(cache)))
               for ext in setup._extensions()]
    assert len(entries) == len(KERNEL_SOURCES)
    for entry in entries:
        entry.parent.mkdir(parents=True)
        entry.write_text("a compiled kernel")
    assert backend.get_requires_for_build_editable() == []               # all cached
    assert backend.get_requires_for_build_wheel() == []
    entries[0].unlink()
    assert backend.get_requires_for_build_wheel() == needed               # one missing
    monkeypatch.setenv("MINIGRAD_BUILD_CACHE", "off")
    assert backend.get_requires_for_build_wheel() == needed
    monkeypatch.setenv("CC", "false")                                     # no compiler: nothing
    assert backend.get_requires_for_build_wheel() == []


def test_no_compiler_still_installs_and_says_so(tmp_path):
    copy = _copy_sources(tmp_path)
    done = _build(copy, CC="false", MINIGRAD_BUILD_CACHE=str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("the compiled kernels were NOT built") == 1
    assert "NumPy twins" in done.stderr and "install a C compiler" in done.stderr
    assert not list((copy / "minigrad" / "_kernels").glob("*.so"))
    required = _build(copy, CC="false", MINIGRAD_REQUIRE_KERNELS="1")
    assert required.returncode != 0 and "MINIGRAD_REQUIRE_KERNELS" in required.stderr


def _compiler_runs():
    """A C compiler answers (CI's twin stage sets CC=false: no compiler)."""
    cc = os.environ.get("CC", "cc").split()[0]
    if shutil.which(cc) is None:
        return False
    return subprocess.run([cc, "--version"], capture_output=True).returncode == 0


PORTABLE_CHECK = """
import numpy as np
from minigrad import _kernels
assert _kernels.BACKEND == "cython", _kernels.BACKEND
compiled, twin = _kernels.get_backend("cython"), _kernels.get_backend("numpy")
rng = np.random.default_rng(0)
for dtype, tol in ((np.float32, 1e-4), (np.float64, 1e-11)):
    for shape, k, geometry in (((2, 12, 21, 40), (3, 3), ((1, 1), (1, 1), ((1, 1), (1, 1)))),
                               ((2, 45, 24), (9,), ((1,), (1,), ((4, 4),)))):
        x = rng.standard_normal(shape).astype(dtype)
        kernel = rng.standard_normal(k + (shape[-1], 1)).astype(dtype)
        y = compiled.depthwise_forward(x, kernel, *geometry)
        np.testing.assert_allclose(y, twin.depthwise_forward(x, kernel, *geometry), rtol=tol, atol=tol)
        g = rng.standard_normal(y.shape).astype(dtype)
        for got, want in zip(compiled.depthwise_backward(g, x, kernel, *geometry),
                             twin.depthwise_backward(g, x, kernel, *geometry)):
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
        w = rng.standard_normal((shape[-1], 7)).astype(dtype)
        rows = x.reshape(-1, shape[-1])
        np.testing.assert_allclose(compiled.pointwise_forward(rows, w, None),
                                   twin.pointwise_forward(rows, w, None), rtol=tol, atol=tol * 10)
print("portable kernels agree")
"""


@pytest.mark.skipif(not _compiler_runs(), reason="no C compiler")
def test_a_portable_build_compiles_and_agrees_with_the_twins(tmp_path):
    """``MINIGRAD_PORTABLE=1`` builds without ``-march=native``: on x86-64 the kernels then
    have SSE2 only, and the vector code must compile there too (it once asked for a 32-byte
    vector in one register, which needs AVX) and compute the same as the twins."""
    copy = _copy_sources(tmp_path)
    done = _build(copy, MINIGRAD_PORTABLE="1", MINIGRAD_REQUIRE_KERNELS="1",
                  MINIGRAD_BUILD_CACHE="off")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "-march=native" not in done.stdout + done.stderr
    env = dict(os.environ, PYTHONPATH=str(copy), MINIGRAD_KERNELS="cython")
    checked = subprocess.run([sys.executable, "-c", PORTABLE_CHECK], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert "portable kernels agree" in checked.stdout


@pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc").split()[0]) is None,
                    reason="no C compiler: the cache is only consulted when one is present")
def test_a_cached_kernel_is_copied_not_compiled(tmp_path):
    """A cache entry under the sources' key is used as is (a fake file proves no compile ran)."""
    setup = _setup_module()
    copy = _copy_sources(tmp_path)
    cache = tmp_path / "cache"
    cwd = os.getcwd()
    os.chdir(copy)
    try:
        compile_args, link_args = setup._flags()
        targets = []
        for ext in setup._extensions():
            key = setup._cache_key(ext, compile_args, link_args)
            name = ext.name.rsplit(".", 1)[1] + setup.sysconfig.get_config_var("EXT_SUFFIX")
            (cache / key).mkdir(parents=True)
            (cache / key / name).write_text(f"cached {ext.name}")
            targets.append((copy / "minigrad" / "_kernels" / name, f"cached {ext.name}"))
    finally:
        os.chdir(cwd)
    done = _build(copy, MINIGRAD_BUILD_CACHE=str(cache))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("unchanged, reused from") == len(targets)
    for path, text in targets:
        assert path.read_text() == text


def test_code_cites_only_what_users_have():
    """Package, tests and notebooks point to the README or module docstrings, never to
    design documents that are not part of the repository."""
    banned = ["SPEC" + ".md", "keras-" + "semantics", "../" + "shared"]
    files = [*ROOT.glob("minigrad/**/*.py"), *ROOT.glob("minigrad/**/*.pyx"), *ROOT.glob("tests/*.py"),
             *ROOT.glob("tutorials/*.ipynb"), ROOT / "README.md"]
    cited = [(p.relative_to(ROOT).as_posix(), word) for p in files
             for word in banned if word in p.read_text(encoding="utf-8")]
    assert not cited
