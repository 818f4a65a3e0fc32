"""Build the Cython kernels in ``minigrad/_kernels``.

Every ``.pyx`` file there becomes an extension module. Flags:

* ``-O3`` always; ``-march=native`` by default for local builds, because the kernels
  rely on the compiler vectorising the innermost channel loop. Set
  ``MINIGRAD_PORTABLE=1`` to build without machine-specific instructions
  (for wheels that must run on other CPUs).
* OpenMP (``-fopenmp``) when a small test program compiles and links with it;
  otherwise the kernels build serially (``prange`` degrades to ``range``).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy
from setuptools import Extension, setup
from Cython.Build import cythonize


def _compiler_accepts(flags, link_flags=()):
    """True when the C compiler builds and links a tiny program with ``flags``."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc.split()[0]) is None:
        return False
    source = "#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n" \
        if "-fopenmp" in flags else "int main(void){return 0;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(source)
        cmd = cc.split() + list(flags) + [path, "-o", os.path.join(tmp, "probe")] + list(link_flags)
        return subprocess.run(cmd, capture_output=True).returncode == 0


def _flags():
    if sys.platform == "win32":
        return ["/O2", "/openmp"], []
    compile_args, link_args = ["-O3", "-ffp-contract=fast"], []
    if os.environ.get("MINIGRAD_PORTABLE", "0") in ("", "0") and _compiler_accepts(["-march=native"]):
        compile_args.append("-march=native")
    if os.environ.get("MINIGRAD_NO_OPENMP", "0") in ("", "0") and _compiler_accepts(["-fopenmp"], ["-fopenmp"]):
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    else:
        print("minigrad: building the kernels without OpenMP", file=sys.stderr)
    return compile_args, link_args


compile_args, link_args = _flags()
extensions = [
    Extension(
        "minigrad._kernels." + os.path.splitext(os.path.basename(path))[0],
        [path],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    for path in sorted(glob.glob(os.path.join("minigrad", "_kernels", "*.pyx")))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
        annotate=os.environ.get("MINIGRAD_ANNOTATE", "0") not in ("", "0"),
    ),
)
