"""The variance-scaling initializers: ``VarianceScaling`` and its presets Glorot, He and LeCun
(uniform and normal), with the fans they scale by. One formula serves them all:

    n = fan_in | fan_out | (fan_in + fan_out) / 2        (mode; at least 1)
    v = scale / n                                        the target variance
    truncated_normal     N(0, sigma^2) cut at +-2 sigma, sigma = sqrt(v) / 0.8796...
    untruncated_normal   N(0, v)
    uniform              U(-a, a), a = sqrt(3 v)

with fans from :func:`compute_fans`, which treats every rank >= 3 kernel as a
convolution kernel ``(*receptive_field, in, out)``. For this project's kernels:

    depthwise (k, C, M)          fan_in = k C      fan_out = k M
    depthwise (kh, kw, C, M)     fan_in = kh kw C  fan_out = kh kw M
    pointwise (1, C M, F)        fan_in = C M      fan_out = F

Every name here is also a ``minigrad.initializers`` name (look them up there by name:
``"glorot_uniform"``, ``"he_normal"``, ...).
"""
import math
import numbers

from .initializer_base import REGISTRY, RandomInitializer, _truncated_standard_normal

# Standard deviation of N(0, 1) truncated to (-2, 2).
_TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` of a weight of ``shape`` (Keras's rule).

    rank 0: (1, 1); rank 1 ``(n,)``: (n, n); rank 2 ``(a, b)``: (a, b);
    rank >= 3 ``(*k, in, out)``: receptive = prod(k); (in * receptive, out * receptive).
    ``input_axes`` / ``output_axes`` (ints or lists) override: the product of the sizes
    along those axes.

    Args:
        shape (tuple of int): the weight's shape.
        input_axes (int, list or None, default None): axes whose sizes multiply to fan_in.
        output_axes (int, list or None, default None): axes whose sizes multiply to fan_out.

    Returns:
        tuple: ``(fan_in, fan_out)`` as Python ints.

    Example:
        >>> initializers.compute_fans((3, 3, 8, 16))
        (72, 144)
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive = math.prod(shape[:-2])
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive

    def product(axes, argument):
        axes = [axes] if isinstance(axes, numbers.Integral) else list(axes)
        for ax in axes:
            if not -len(shape) <= ax < len(shape):
                raise ValueError(f"`{argument}` {axes} is out of range for a weight of "
                                 f"shape {shape}.")
        return math.prod(shape[ax] for ax in axes)
    if input_axes is not None:
        fan_in = product(input_axes, "input_axes")
    if output_axes is not None:
        fan_out = product(output_axes, "output_axes")
    return fan_in, fan_out


@REGISTRY.register("variance_scaling", "VarianceScaling")
class VarianceScaling(RandomInitializer):
    """Samples with variance ``scale / n``, n chosen from the fans by ``mode``.

    mode: "fan_in", "fan_out" or "fan_avg". distribution: "truncated_normal" (also
    spelt "normal"), "untruncated_normal" or "uniform". See the module docstring.

    Args:
        scale (float, default 1.0): the variance's numerator, > 0.
        mode (str, default "fan_in"): "fan_in", "fan_out" or "fan_avg".
        distribution (str, default "truncated_normal"): "truncated_normal" (or "normal"),
            "untruncated_normal" or "uniform".
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see ``minigrad.initializers``).
        input_axes (int, list or None, default None): the axes whose product is fan_in
            (overrides :func:`compute_fans`'s rule).
        output_axes (int, list or None, default None): the axes whose product is fan_out.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0 \
                or not math.isfinite(scale):
            raise ValueError(f"Argument `scale` must be positive float. Received: "
                             f"scale={scale!r}")
        mode_l = mode.lower() if isinstance(mode, str) else mode
        if mode_l not in self.MODES:
            raise ValueError(f"Invalid `mode` argument: {mode!r}. Please use one of "
                             f"{list(self.MODES)}.")
        dist = distribution.lower() if isinstance(distribution, str) else distribution
        if dist == "normal":
            dist = "truncated_normal"
        if dist not in self.DISTRIBUTIONS:
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}. Allowed "
                             f"distributions: {list(self.DISTRIBUTIONS)} (or 'normal', "
                             "meaning 'truncated_normal').")
        self.scale, self.mode, self.distribution = scale, mode_l, dist
        self.input_axes, self.output_axes = input_axes, output_axes
        super().__init__(seed)

    def variance(self, shape):
        """The target variance ``scale / n`` for a weight of ``shape``."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(1.0, n)

    def _sample(self, rng, shape):
        v = self.variance(shape)
        if self.distribution == "truncated_normal":
            sigma = math.sqrt(v) / _TRUNCATED_STD
            return sigma * _truncated_standard_normal(rng, shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(v), shape)
        limit = math.sqrt(3.0 * v)
        return rng.uniform(-limit, limit, shape)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _VarianceScalingPreset(VarianceScaling):
    """A VarianceScaling with fixed scale/mode/distribution (only the seed is free)."""
    _preset = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._preset
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


@REGISTRY.register("glorot_uniform", "GlorotUniform")
class GlorotUniform(_VarianceScalingPreset):
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)). The default kernel initializer.

    Args:
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see ``minigrad.initializers``).
        input_axes (int, list or None, default None): the axes whose product is fan_in
            (overrides :func:`compute_fans`'s rule).
        output_axes (int, list or None, default None): the axes whose product is fan_out.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).

    Example:
        >>> initializers.GlorotUniform(seed=0)((4, 8)).shape
        (4, 8)
    """
    _preset = (1.0, "fan_avg", "uniform")


@REGISTRY.register("glorot_normal", "GlorotNormal")
class GlorotNormal(_VarianceScalingPreset):
    """Truncated normal with std sqrt(2 / (fan_in + fan_out)).

    Args:
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see ``minigrad.initializers``).
        input_axes (int, list or None, default None): the axes whose product is fan_in
            (overrides :func:`compute_fans`'s rule).
        output_axes (int, list or None, default None): the axes whose product is fan_out.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """
    _preset = (1.0, "fan_avg", "truncated_normal")


@REGISTRY.register("he_uniform", "HeUniform")
class HeUniform(_VarianceScalingPreset):
    """U(-a, a), a = sqrt(6 / fan_in).

    Args:
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see ``minigrad.initializers``).
        input_axes (int, list or None, default None): the axes whose product is fan_in
            (overrides :func:`compute_fans`'s rule).
        output_axes (int, list or None, default None): the axes whose product is fan_out.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """
    _preset = (2.0, "fan_in", "uniform")


@REGISTRY.register("he_normal", "HeNormal")
class HeNormal(_VarianceScalingPreset):
    """Truncated normal with std sqrt(2 / fan_in).

    Args:
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see ``minigrad.initializers``).
        input_axes (int, list or None, default None): the axes whose product is fan_in
            (overrides :func:`compute_fans`'s rule).
        output_axes (int, list or None, default None): the axes whose product is fan_out.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """
    _preset = (2.0, "fan_in", "truncated_normal")


@REGISTRY.register("lecun_uniform", "LecunUniform")
class LecunUniform(_VarianceScalingPreset):
    """U(-a, a), a = sqrt(3 / fan_in).

    Args:
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see ``minigrad.initializers``).
        input_axes (int, list or None, default None): the axes whose product is fan_in
            (overrides :func:`compute_fans`'s rule).
        output_axes (int, list or None, default None): the axes whose product is fan_out.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """
    _preset = (1.0, "fan_in", "uniform")


@REGISTRY.register("lecun_normal", "LecunNormal")
class LecunNormal(_VarianceScalingPreset):
    """Truncated normal with std sqrt(1 / fan_in).

    Args:
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see ``minigrad.initializers``).
        input_axes (int, list or None, default None): the axes whose product is fan_in
            (overrides :func:`compute_fans`'s rule).
        output_axes (int, list or None, default None): the axes whose product is fan_out.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """
    _preset = (1.0, "fan_in", "truncated_normal")
