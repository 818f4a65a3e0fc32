"""Build the Cython kernels in ``minigrad/_kernels`` — optional, cached.

Every ``.pyx`` file there becomes an extension module. Flags:

* ``-O3`` always; ``-march=native`` by default for local builds, because the kernels
  rely on the compiler vectorising the innermost channel loop. Set
  ``MINIGRAD_PORTABLE=1`` to build without machine-specific instructions
  (for wheels that must run on other CPUs).
* POSIX threads (``-pthread``) for the kernels' worker pool (``minigrad/_kernels/pool.h``);
  on Windows the pool's parts run under OpenMP (``/openmp``) instead.

Optional: without a working C compiler (or when compiling fails) the install still
succeeds and minigrad runs on its NumPy twins; the build says so once. Set
``MINIGRAD_REQUIRE_KERNELS=1`` to make a failed kernel build fail the install instead.

Cached: pip builds every install in a fresh isolated environment, so nothing of the last
build is visible to the next one and the kernels would be compiled again for each
``pip install`` (about a minute each on two cores). Each compiled module is therefore kept
in ``build/kernel-cache/<key>/``, where the key hashes everything the binary depends on:
the ``.pyx`` and its neighbours (``.pxd``, ``.pxi``, ``.h``), the compiler, its flags and the
Cython directives, the CPU when ``-march=native`` is used, and the Python version and ABI.
An install whose key is in the cache copies the module instead of compiling it.
``MINIGRAD_BUILD_CACHE=<dir>`` moves the cache, ``MINIGRAD_BUILD_CACHE=off`` disables it.

The key is computed without importing Cython, NumPy or SciPy, so that ``build_backend.py``
can ask pip for Cython only when something has to be compiled (``kernel_build_requirements``);
a repeat install then builds in an environment holding setuptools alone. Leaving their
versions out of the key is safe because:

* NumPy: the kernels take arrays through the buffer protocol (typed memoryviews) and never
  ``cimport numpy``, so no NumPy header or C-API call is compiled into them
  (``tests/test_packaging.py`` checks this). Were that to change, the NumPy major version
  would have to join the key: NumPy's ABI is forward compatible only (a module built against
  2.x runs on later 2.x releases; one built against 1.x does not load on 2.x).
* SciPy: no kernel cimports from it (the pointwise kernel has its own GEMM, ``gemm.h``).
  A kernel that cimported ``scipy.linalg.cython_blas`` would need SciPy in
  ``KERNEL_BUILD_REQUIRES`` (the tests check that), but still not in the key: that module
  hands out the BLAS functions at import time, by name and C signature, from the SciPy
  installed at run time.
* Cython: the generated C is self-contained (no Cython runtime is needed to import it); a newer
  Cython may generate better code but not a module that works differently. Clear the cache
  (or set ``MINIGRAD_BUILD_CACHE=off``) to recompile with a new Cython.
"""
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS = os.path.join("minigrad", "_kernels")
# What compiling the kernels needs besides setuptools (no NumPy or SciPy header is used).
KERNEL_BUILD_REQUIRES = ["Cython>=3.0"]
CYTHON_DIRECTIVES = {"boundscheck": False, "wraparound": False, "cdivision": True,
                     "initializedcheck": False}
NO_KERNELS_MESSAGE = """
minigrad: the compiled kernels were NOT built ({reason}).
minigrad is installed and works on its NumPy twins: same results, slower convolutions.
To get the compiled kernels, install a C compiler (Debian/Ubuntu: `apt install build-essential`,
macOS: `xcode-select --install`) and install minigrad again (`pip install -e .` or `pip install .`).
"""


def _environ_flag(name):
    return os.environ.get(name, "0").strip() not in ("", "0")


def _compiler_accepts(flags, link_flags=()):
    """True when the C compiler builds and links a tiny program with ``flags``."""
    cc = os.environ.get("CC", "cc")
    if not cc.split() or shutil.which(cc.split()[0]) is None:
        return False
    source = "int main(void){return 0;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(source)
        cmd = cc.split() + list(flags) + [path, "-o", os.path.join(tmp, "probe")] + list(link_flags)
        try:
            return subprocess.run(cmd, capture_output=True).returncode == 0
        except OSError:
            return False


def _flags():
    """(compile args, link args) for this machine's compiler."""
    if sys.platform == "win32":
        return ["/O2", "/openmp"], []
    compile_args, link_args = ["-O3", "-ffp-contract=fast"], []
    if not _environ_flag("MINIGRAD_PORTABLE") and _compiler_accepts(["-march=native"]):
        compile_args.append("-march=native")
    if _compiler_accepts(["-pthread"], ["-pthread"]):      # the kernels' worker pool (pool.h)
        compile_args.append("-pthread")
        link_args.append("-pthread")
    return compile_args, link_args


def _cpu_description():
    """The CPU model and its instruction-set flags (a ``-march=native`` binary depends on them)."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().split("\n\n")[0].splitlines()
    except OSError:
        import platform
        return platform.processor() or platform.machine()
    return "\n".join(line for line in lines if line.split(":")[0].strip() in ("model name", "flags"))


def _neighbours(pyx):
    """The files a kernel's ``.pyx`` may include or cimport: the ``.pxd``, ``.pxi`` and ``.h``
    files beside it."""
    folder = os.path.dirname(pyx)
    return sorted(path for pattern in ("*.pxd", "*.pxi", "*.h")
                  for path in glob.glob(os.path.join(folder, pattern)))


def _cache_key(ext, compile_args, link_args):
    """A hash of everything the compiled ``ext`` depends on (computed without importing
    Cython, NumPy or SciPy: see the module docstring for why their versions are not in it)."""
    digest = hashlib.sha256()
    sources = sorted(set(ext.sources) | set(_neighbours(ext.sources[0])))
    for path in sources:
        with open(path, "rb") as f:
            digest.update(path.encode() + b"\0" + f.read() + b"\0")
    facts = [ext.name, sys.version, sysconfig.get_config_var("EXT_SUFFIX"), sys.platform,
             sorted(CYTHON_DIRECTIVES.items()), os.environ.get("CC", "cc"),
             " ".join(compile_args), " ".join(link_args)]
    if "-march=native" in compile_args:
        facts.append(_cpu_description())
    digest.update("\0".join(map(str, facts)).encode())
    return digest.hexdigest()[:20]


def _cache_dir():
    setting = os.environ.get("MINIGRAD_BUILD_CACHE", "").strip()
    if setting.lower() in ("off", "0", "no"):
        return None
    return setting or os.path.join(HERE, "build", "kernel-cache")


def _cached_path(ext, compile_args, link_args, cache):
    """Where the cache keeps the compiled ``ext`` (whether or not it is there yet)."""
    name = ext.name.rsplit(".", 1)[-1] + sysconfig.get_config_var("EXT_SUFFIX")
    return os.path.join(cache, _cache_key(ext, compile_args, link_args), name)


def kernel_build_requirements():
    """What the build needs installed besides setuptools: nothing when there is no compiler
    (the install gives up on the kernels at once) or every kernel is in the cache, else
    ``KERNEL_BUILD_REQUIRES`` (Cython). ``build_backend.py`` hands this list to pip."""
    if not _compiler_accepts([]):
        return []
    cache = _cache_dir()
    if cache is None:
        return list(KERNEL_BUILD_REQUIRES)
    compile_args, link_args = _flags()
    missing = [ext.name for ext in _extensions()
               if not os.path.exists(_cached_path(ext, compile_args, link_args, cache))]
    return list(KERNEL_BUILD_REQUIRES) if missing else []


class OptionalCachedBuildExt(build_ext):
    """Cythonize and compile each kernel, or copy it from the cache; never fail without a compiler."""

    def run(self):
        self._failures = []
        if not _compiler_accepts([]):
            reason = f"no working C compiler: `{os.environ.get('CC', 'cc')}` cannot build a test program"
            self._give_up(reason)
            return
        self._compile_args, self._link_args = _flags()
        super().run()
        if self._failures:
            self._give_up("; ".join(f"{name}: {error}" for name, error in self._failures))

    def _give_up(self, reason):
        if _environ_flag("MINIGRAD_REQUIRE_KERNELS"):
            raise SystemExit(f"minigrad: MINIGRAD_REQUIRE_KERNELS is set and the kernels did not build: {reason}")
        for ext in self.extensions:    # never ship kernels an earlier build left in build/ or in place
            stale = self.get_ext_fullpath(ext.name)
            if os.path.exists(stale):
                os.remove(stale)
        print(NO_KERNELS_MESSAGE.format(reason=reason), file=sys.stderr)

    def build_extension(self, ext):
        from distutils.errors import CCompilerError, DistutilsError

        ext.extra_compile_args = list(self._compile_args)
        ext.extra_link_args = list(self._link_args)
        target = self.get_ext_fullpath(ext.name)
        cache = _cache_dir()
        cached = None
        if cache is not None:
            cached = _cached_path(ext, self._compile_args, self._link_args, cache)
            if os.path.exists(cached):
                os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
                shutil.copyfile(cached, target)
                print(f"minigrad: {ext.name} unchanged, reused from {cached}", file=sys.stderr)
                return
        try:        # present unless build_backend.py found every kernel in the cache
            from Cython.Build import cythonize
        except ImportError as error:
            self._failures.append((ext.name, f"Cython is not installed ({error})"))
            return
        pyx_sources = ext.sources
        (c_ext,) = cythonize(
            [Extension(ext.name, pyx_sources)], language_level=3, quiet=True,
            compiler_directives=CYTHON_DIRECTIVES,
            annotate=_environ_flag("MINIGRAD_ANNOTATE"))
        ext.sources = c_ext.sources                 # the generated .c, compiled below
        if os.path.exists(target):    # a binary left by an earlier build may look newer than
            os.remove(target)         # its sources; on a cache miss it is always rebuilt
        try:
            super().build_extension(ext)
        except (CCompilerError, DistutilsError, OSError) as error:
            self._failures.append((ext.name, error))
            return
        if cached is not None:
            os.makedirs(os.path.dirname(cached), exist_ok=True)
            partial = cached + f".{os.getpid()}.tmp"
            shutil.copyfile(target, partial)
            os.replace(partial, cached)


def _extensions():
    # no NumPy include directory: the kernels use no NumPy header (see the module docstring)
    return [
        Extension(
            "minigrad._kernels." + os.path.splitext(os.path.basename(path))[0],
            [path],
            # a header changed alone leaves the generated .c as it was: without ``depends``
            # setuptools would keep the old binary (and the cache would file it under the new key)
            depends=_neighbours(path),
            optional=True,      # a module that does not build is left out, not copied in place
        )
        for path in sorted(glob.glob(os.path.join(KERNELS, "*.pyx")))
    ]


if __name__ == "__main__":          # pip's backend runs this file as __main__; tests import it
    setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalCachedBuildExt})
