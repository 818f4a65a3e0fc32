"""Initializers: ``init(shape, dtype=None) -> ndarray``, the starting values of weights.

Layers look them up by name (``"glorot_uniform"``) or take an object. Each is a small
class; the variance-scaling family shares one formula:

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

Seeds: ``seed=None`` draws a seed from the global RNG (:mod:`minigrad.random`) when the
initializer is constructed, then draws fresh values on every call from a generator of
its own — so ``mg.set_random_seed(n)`` makes a whole model reproducible. An integer seed
gives identical values on every call.

Deviations from Keras 3 (deliberate):
* The string ``"constant"`` gives ``Constant(0.0)`` (Keras raises ``KeyError``).
* An unseeded instance called twice gives two different draws (Keras 3 returns the
  same values each time). Seeded instances behave as in Keras.
"""
import math
import numbers

import numpy as np

from . import config
from . import random as mg_random
from .registry import Configurable, Registry
from .tensor import Tensor

REGISTRY = Registry("initializer")

# Standard deviation of N(0, 1) truncated to (-2, 2).
_TRUNCATED_STD = 0.87962566103423978


# ------------------------------------------------------------------------------ helpers
def _standardize_shape(shape):
    """``shape`` as a tuple of non-negative Python ints (an int means a 1-D shape)."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"`shape` must be a tuple of non-negative integers. Received: "
                         f"shape={shape!r}") from None
    if any(d is None for d in dims):
        raise ValueError("Shapes used to initialize variables must be fully-defined (no "
                         f"`None` dimensions). Received: shape={shape!r}")
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0
               for d in dims):
        raise ValueError(f"`shape` must be a tuple of non-negative integers. Received: "
                         f"shape={shape!r}")
    return tuple(int(d) for d in dims)


def _standardize_dtype(dtype, owner, floating=True):
    dtype = np.dtype(config.floatx() if dtype is None else dtype)
    allowed = "f" if floating else "biuf"
    if dtype.kind not in allowed:
        kind = "a floating-point" if floating else "a numeric"
        raise ValueError(f"{owner} needs {kind} dtype, got dtype={dtype}.")
    return dtype


def _check_number(value, argument, positive=False, non_negative=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"Argument `{argument}` must be a finite number. Received: "
                         f"{argument}={value!r}")
    if positive and value <= 0:
        raise ValueError(f"Argument `{argument}` must be positive float. Received: "
                         f"{argument}={value!r}")
    if non_negative and value < 0:
        raise ValueError(f"Argument `{argument}` must be non-negative. Received: "
                         f"{argument}={value!r}")
    return value


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


def _truncated_standard_normal(rng, size):
    """N(0, 1) samples restricted to (-2, 2): out-of-range draws are drawn again."""
    z = rng.standard_normal(size)
    bad = np.abs(z) >= 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) >= 2
    return z


# ------------------------------------------------------------------------------ base
class Initializer(Configurable):
    """Base class: ``__call__(shape, dtype=None)`` returns an ndarray of that shape.

    ``dtype=None`` means ``mg.config.floatx()`` (float32 by default).

    Subclasses implement ``__call__`` and ``get_config``; takes no arguments.
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__.")



class RandomInitializer(Initializer):
    """Base of the random initializers: owns the seed (see the module docstring).

    Args:
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).
    """

    def __init__(self, seed=None):
        if seed is not None:
            mg_random._check_seed(seed)
        self.seed = seed
        # Unseeded: a private generator seeded now, from the global RNG.
        self._rng = None if seed is not None else np.random.default_rng(mg_random.draw_seed())

    def _generator(self):
        return np.random.default_rng(self.seed) if self.seed is not None else self._rng

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        dtype = _standardize_dtype(dtype, type(self).__name__)
        return np.asarray(self._sample(self._generator(), shape), dtype=dtype)

    def _sample(self, rng, shape):
        raise NotImplementedError

    def get_config(self):
        return {"seed": self.seed}


# ------------------------------------------------------------------------------ constants
@REGISTRY.register("zeros", "Zeros", "zero")
class Zeros(Initializer):
    """All zeros (the default bias initializer).

    Takes no arguments.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).

    Example:
        >>> initializers.Zeros()((2,), "float64").tolist()
        [0.0, 0.0]
    """

    def __call__(self, shape, dtype=None):
        return np.zeros(_standardize_shape(shape),
                        dtype=_standardize_dtype(dtype, "Zeros", floating=False))


@REGISTRY.register("ones", "Ones", "one")
class Ones(Initializer):
    """All ones (in the requested shape and dtype).

    Takes no arguments.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __call__(self, shape, dtype=None):
        return np.ones(_standardize_shape(shape),
                       dtype=_standardize_dtype(dtype, "Ones", floating=False))


@REGISTRY.register("constant", "Constant")
class Constant(Initializer):
    """``value`` everywhere (a scalar, or an array that broadcasts to the shape).

    The string ``"constant"`` means ``Constant(0.0)`` (Keras raises there).

    Args:
        value (float or array-like, default 0.0): the value, broadcast to the shape.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).

    Example:
        >>> initializers.Constant(2.0)((2,)).tolist()
        [2.0, 2.0]
    """

    def __init__(self, value=0.0):
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"Argument `value` of Constant must be a number or an array "
                             f"of numbers. Received: value={value!r}")
        self.value = value if array.ndim == 0 and not isinstance(value, Tensor) else array

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        dtype = _standardize_dtype(dtype, "Constant", floating=False)
        value = np.asarray(self.value, dtype=dtype)
        try:
            return np.array(np.broadcast_to(value, shape))
        except ValueError:
            raise ValueError(f"Constant value of shape {value.shape} cannot fill a weight of "
                             f"shape {shape}.") from None

    def get_config(self):
        value = self.value.tolist() if isinstance(self.value, np.ndarray) else self.value
        return {"value": value}


class FixedValue(Initializer):
    """A given array, used as-is. ``initializers.get(ndarray)`` returns one.

    The shape asked for must equal the array's shape.

    Args:
        value (array-like): the array returned (a copy, in the requested dtype).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).

    Raises (when called):
        ValueError: if the shape asked for is not the array's shape.
    """

    def __init__(self, value):
        self.value = np.array(value.data if isinstance(value, Tensor) else value)
        if self.value.dtype.kind not in "biuf":
            raise ValueError(f"An array initializer must hold numbers, got dtype "
                             f"{self.value.dtype}.")

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if shape != self.value.shape:
            raise ValueError(f"The initial value has shape {self.value.shape} but the "
                             f"weight has shape {shape}.")
        dtype = _standardize_dtype(dtype, "FixedValue", floating=False)
        return self.value.astype(dtype, copy=True)

    def get_config(self):
        return {"value": self.value.tolist()}


@REGISTRY.register("identity", "Identity", "IdentityInitializer")
class Identity(Initializer):
    """``gain`` times the identity matrix (rank 2 only; rectangular is allowed).

    Args:
        gain (float, default 1.0): the value on the diagonal.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).

    Example:
        >>> initializers.Identity()((2, 3)).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = _check_number(gain, "gain")

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        dtype = _standardize_dtype(dtype, "Identity")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


# ------------------------------------------------------------------------------ random
@REGISTRY.register("random_normal", "RandomNormal", "normal")
class RandomNormal(RandomInitializer):
    """N(mean, stddev^2).

    Args:
        mean (float, default 0.0): the mean.
        stddev (float, default 0.05): the standard deviation, >= 0.
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _check_number(mean, "mean")
        self.stddev = _check_number(stddev, "stddev", non_negative=True)
        super().__init__(seed)

    def _sample(self, rng, shape):
        return rng.normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@REGISTRY.register("random_uniform", "RandomUniform", "uniform")
class RandomUniform(RandomInitializer):
    """U(minval, maxval).

    Args:
        minval (float, default -0.05): the lower bound.
        maxval (float, default 0.05): the upper bound, >= minval.
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = _check_number(minval, "minval")
        self.maxval = _check_number(maxval, "maxval")
        if minval > maxval:
            raise ValueError(f"Argument `minval` must not exceed `maxval`. Received: "
                             f"minval={minval!r}, maxval={maxval!r}")
        super().__init__(seed)

    def _sample(self, rng, shape):
        return rng.uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


@REGISTRY.register("truncated_normal", "TruncatedNormal")
class TruncatedNormal(RandomInitializer):
    """N(mean, stddev^2) restricted to mean +- 2 stddev (resampled, not clipped).

    ``stddev`` is the parameter before truncation; the realised std is 0.8796 stddev.

    Args:
        mean (float, default 0.0): the mean.
        stddev (float, default 0.05): the standard deviation before truncation, >= 0.
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _check_number(mean, "mean")
        self.stddev = _check_number(stddev, "stddev", non_negative=True)
        super().__init__(seed)

    def _sample(self, rng, shape):
        return self.mean + self.stddev * _truncated_standard_normal(rng, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


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
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).
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
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).
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
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).
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
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).
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
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).
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
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).
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
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).
        input_axes (int, list or None, default None): the axes whose product is fan_in
            (overrides :func:`compute_fans`'s rule).
        output_axes (int, list or None, default None): the axes whose product is fan_out.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """
    _preset = (1.0, "fan_in", "truncated_normal")


@REGISTRY.register("orthogonal", "Orthogonal", "OrthogonalInitializer")
class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix times ``gain``, reshaped to the weight (rank >= 2).

    The weight is viewed as a ``prod(shape[:-1]) x shape[-1]`` matrix: its columns are
    orthonormal when it is tall, its rows when it is wide. Built from the QR
    decomposition of a Gaussian matrix, with Q's columns signed by diag(R) so the
    result is uniformly distributed.

    Args:
        gain (float, default 1.0): the factor the orthogonal matrix is multiplied by.
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = _check_number(gain, "gain")
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return super().__call__(shape, dtype)

    def _sample(self, rng, shape):
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


# ------------------------------------------------------------------------------ lookup
# An initializer as a Keras-style dict (None stays None), and back.
serialize = REGISTRY.serialize
deserialize = REGISTRY.deserialize


def get(identifier):
    """An initializer from a name, class, instance, config dict or fixed array.

    None -> None; an :class:`Initializer` (or any callable) passes through; a class is
    instantiated with its defaults; a string is looked up (class names, snake_case names,
    and the aliases ``normal``, ``uniform``, ``zero``, ``one``); an ndarray / Tensor
    becomes a :class:`FixedValue`. Anything else raises ValueError listing valid names.

    Args:
        identifier (str, type, Initializer, dict, ndarray, callable or None): what to look up.

    Returns:
        Initializer, callable or None

    Raises:
        ValueError: for anything else, listing the valid names.

    Example:
        >>> initializers.get("zeros")
        Zeros()
    """
    if isinstance(identifier, (np.ndarray, Tensor)):
        return FixedValue(identifier)
    return REGISTRY.resolve(identifier, Initializer)


# Keras's lower-case aliases of the classes.
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal
