"""Shared test settings.

Hypothesis profiles (pick one with ``HYPOTHESIS_PROFILE=<name>``):

``dev``  (default) a modest number of examples so the whole suite stays fast.
``ci``   more examples, derandomized so a CI failure reproduces exactly.

No deadlines: gradient checks run the function twice per input element, and the
machine may be shared with other builds.
"""
import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])

settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("ci", max_examples=60, derandomize=True, print_blob=True, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# MINIGRAD_TEST_INSTALLED=1 (CI, for its non-editable and no-compiler installs): the suite
# tests the installed minigrad, run from outside the checkout; importing the source tree by
# accident would test the wrong thing, so it is an error.
if os.environ.get("MINIGRAD_TEST_INSTALLED", "0").strip() not in ("", "0"):
    import pathlib

    import minigrad

    _source = pathlib.Path(__file__).resolve().parents[1] / "minigrad"
    if pathlib.Path(minigrad.__file__).resolve().parent == _source:
        raise RuntimeError(f"MINIGRAD_TEST_INSTALLED is set but minigrad was imported from the "
                           f"source tree {_source}: run pytest from another directory.")
