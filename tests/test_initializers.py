"""Tests for minigrad.initializers and minigrad.random (seeding)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import config, initializers
from minigrad import random as mg_random
from minigrad.initializers import compute_fans

TRUNC = 0.87962566103423978

# The kernels of this project (fans as in the variance_scaling.py docstring).
DEPTHWISE_1D = (5, 64, 3)          # (k, C, M)
DEPTHWISE_2D = (3, 4, 32, 2)       # (kh, kw, C, M)
POINTWISE_1D = (1, 192, 10)        # (1, C*M, F)
POINTWISE_2D = (1, 1, 96, 10)      # (1, 1, C*M, F)


# ------------------------------------------------------------------------ fans
@pytest.mark.parametrize("shape, fans", [
    ((), (1, 1)),
    ((7,), (7, 7)),
    ((25, 20), (25, 20)),
    (DEPTHWISE_1D, (5 * 64, 5 * 3)),
    (DEPTHWISE_2D, (3 * 4 * 32, 3 * 4 * 2)),
    (POINTWISE_1D, (192, 10)),
    (POINTWISE_2D, (96, 10)),
])
def test_compute_fans(shape, fans):
    assert compute_fans(shape) == fans


def test_compute_fans_with_axes():
    assert compute_fans((3, 4, 5), input_axes=[0, 1], output_axes=2) == (12, 5)
    assert compute_fans((3, 4, 5), input_axes=-1) == (5, 5 * 3)     # fan_out keeps the rule
    with pytest.raises(ValueError, match="out of range"):
        compute_fans((3, 4), input_axes=2)


# ------------------------------------------------------------------------ variance scaling
UNIFORM_PRESETS = [("glorot_uniform", lambda fi, fo: math.sqrt(6 / (fi + fo))),
                   ("he_uniform", lambda fi, fo: math.sqrt(6 / fi)),
                   ("lecun_uniform", lambda fi, fo: math.sqrt(3 / fi))]
NORMAL_PRESETS = [("glorot_normal", lambda fi, fo: math.sqrt(2 / (fi + fo))),
                  ("he_normal", lambda fi, fo: math.sqrt(2 / fi)),
                  ("lecun_normal", lambda fi, fo: math.sqrt(1 / fi))]
KERNELS = [DEPTHWISE_1D, DEPTHWISE_2D, POINTWISE_1D, POINTWISE_2D]


@pytest.mark.parametrize("name, bound", UNIFORM_PRESETS)
@pytest.mark.parametrize("shape", KERNELS)
def test_uniform_presets_bound_and_std(name, bound, shape):
    init = initializers.get(name)
    a = bound(*compute_fans(shape))
    w = np.concatenate([init(shape, "float64").ravel() for _ in range(20)])
    assert np.abs(w).max() <= a
    assert np.abs(w).max() > 0.97 * a                     # the bound is actually reached
    assert w.std() == pytest.approx(a / math.sqrt(3), rel=0.05)
    assert abs(w.mean()) < 0.05 * a


@pytest.mark.parametrize("name, std", NORMAL_PRESETS)
@pytest.mark.parametrize("shape", KERNELS)
def test_normal_presets_std_and_truncation(name, std, shape):
    init = initializers.get(name)
    s = std(*compute_fans(shape))
    w = np.concatenate([init(shape, "float64").ravel() for _ in range(20)])
    assert w.std() == pytest.approx(s, rel=0.05)           # realised std is sqrt(v)
    sigma = s / TRUNC
    assert np.abs(w).max() < 2 * sigma                      # truncated at +-2 sigma ...
    assert np.abs(w).max() > 1.9 * sigma                    # ... and the tails reach there
    assert np.sum(np.abs(w) > 1.999 * sigma) < 0.01 * w.size   # resampled, not clipped


@pytest.mark.parametrize("mode, n", [("fan_in", 25), ("fan_out", 20), ("fan_avg", 22.5)])
def test_variance_scaling_modes(mode, n):
    # Keras's random_initializers_test: scale 2 on a (25, 20) matrix, atol 0.1 ...
    init = initializers.VarianceScaling(scale=2.0, mode=mode, distribution="untruncated_normal",
                                        seed=1)
    assert init((25, 20), "float64").std() == pytest.approx(math.sqrt(2 / n), abs=0.1)
    # ... and tighter on 100x more samples (unseeded: fresh values on every call).
    init = initializers.VarianceScaling(2.0, mode, "untruncated_normal")
    w = np.concatenate([init((25, 20), "float64").ravel() for _ in range(100)])
    assert w.std() == pytest.approx(math.sqrt(2 / n), rel=0.02)


def test_variance_scaling_normal_means_truncated():
    init = initializers.VarianceScaling(distribution="normal")
    assert init.distribution == "truncated_normal"
    init = initializers.VarianceScaling(mode="FAN_AVG", distribution="Uniform")
    assert (init.mode, init.distribution) == ("fan_avg", "uniform")


@pytest.mark.parametrize("kwargs, message", [
    (dict(scale=0), "Argument `scale` must be positive float. Received: scale=0"),
    (dict(scale=-1.0), "scale=-1.0"),
    (dict(scale="1"), "scale='1'"),
    (dict(mode="fan"), "Invalid `mode` argument: 'fan'"),
    (dict(distribution="gaussian"), "Invalid `distribution` argument: 'gaussian'"),
    (dict(seed=-1), "`seed` must be a non-negative integer"),
    (dict(seed=1.5), "seed=1.5"),
])
def test_variance_scaling_validation(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        initializers.VarianceScaling(**kwargs)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple),
       seed=st.integers(0, 2 ** 20))
def test_glorot_uniform_within_bound_any_shape(shape, seed):
    w = initializers.GlorotUniform(seed=seed)(shape)
    fan_in, fan_out = compute_fans(shape)
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= math.sqrt(6 / (fan_in + fan_out)) * (1 + 1e-6)


# ------------------------------------------------------------------------ other random ones
def test_random_normal_and_uniform():
    w = initializers.RandomNormal(mean=1.0, stddev=0.5, seed=0)((200, 100), "float64")
    assert w.mean() == pytest.approx(1.0, abs=0.01) and w.std() == pytest.approx(0.5, rel=0.02)
    w = initializers.RandomUniform(minval=-2, maxval=3, seed=0)((200, 100), "float64")
    assert w.min() >= -2 and w.max() < 3 and w.mean() == pytest.approx(0.5, abs=0.05)
    w = initializers.get("normal")((100, 100))
    assert w.std() == pytest.approx(0.05, rel=0.05)
    w = initializers.get("uniform")((100, 100))
    assert np.abs(w).max() <= 0.05


def test_truncated_normal_uses_pre_truncation_stddev():
    w = initializers.TruncatedNormal(mean=0.5, stddev=1.0, seed=0)((200_000,), "float64")
    assert w.std() == pytest.approx(TRUNC, rel=0.01)
    assert w.min() > 0.5 - 2 and w.max() < 0.5 + 2
    assert w.mean() == pytest.approx(0.5, abs=0.01)


def test_random_validation():
    with pytest.raises(ValueError, match="stddev"):
        initializers.RandomNormal(stddev=-1)
    with pytest.raises(ValueError, match="minval"):
        initializers.RandomUniform(minval=1, maxval=0)
    with pytest.raises(ValueError, match="floating-point dtype"):
        initializers.GlorotUniform()((2, 2), "int32")


# ------------------------------------------------------------------------ orthogonal
def test_orthogonal_tall_depthwise_kernel_has_orthonormal_columns():
    w = initializers.Orthogonal(seed=3)(DEPTHWISE_1D, "float64")
    assert w.shape == DEPTHWISE_1D
    m = w.reshape(-1, DEPTHWISE_1D[-1])                       # (k*C) x M
    np.testing.assert_allclose(m.T @ m, np.eye(3), atol=1e-12)


def test_orthogonal_wide_has_orthonormal_rows_and_gain():
    w = initializers.Orthogonal(gain=2.0, seed=1)((3, 7), "float64")
    np.testing.assert_allclose(w @ w.T, 4 * np.eye(3), atol=1e-12)
    w = initializers.get("orthogonal")((2, 2, 3, 8))           # 12 x 8: tall
    m = w.reshape(12, 8).astype("float64")
    np.testing.assert_allclose(m.T @ m, np.eye(8), atol=1e-5)


def test_orthogonal_needs_rank_2():
    with pytest.raises(ValueError, match="at least two-dimensional"):
        initializers.Orthogonal()((5,))


# ------------------------------------------------------------------------ deterministic ones
def test_constants():
    assert initializers.get("zeros")((2, 3)).tolist() == [[0] * 3] * 2
    assert initializers.get("one")((2,), "float64").dtype == np.float64
    assert initializers.Zeros()((2,), "int32").dtype == np.int32
    np.testing.assert_array_equal(initializers.Constant(2.5)((2, 2)), np.full((2, 2), 2.5))
    np.testing.assert_array_equal(initializers.Constant([1, 2])((3, 2)), [[1, 2]] * 3)
    with pytest.raises(ValueError, match="cannot fill"):
        initializers.Constant([1, 2, 3])((3, 2))
    # Documented deviation: the string "constant" means Constant(0.0).
    c = initializers.get("constant")
    assert isinstance(c, initializers.Constant) and c.value == 0.0
    assert c((3,)).tolist() == [0, 0, 0]


def test_identity():
    np.testing.assert_array_equal(initializers.Identity(gain=3)((2, 3)),
                                  3 * np.eye(2, 3, dtype="float32"))
    with pytest.raises(ValueError, match="only be used for 2D matrices"):
        initializers.get("identity")(DEPTHWISE_1D)


def test_default_dtype_follows_floatx():
    assert initializers.GlorotUniform()((3, 3)).dtype == np.float32
    config.set_floatx("float64")
    try:
        assert initializers.GlorotUniform()((3, 3)).dtype == np.float64
        assert initializers.Ones()((3,)).dtype == np.float64
    finally:
        config.set_floatx("float32")


@pytest.mark.parametrize("shape, message", [
    ((None, 3), "fully-defined"),
    ((2, -1), "non-negative integers"),
    ((2.0, 3), "non-negative integers"),
    ("ab", "non-negative integers"),
])
def test_bad_shapes(shape, message):
    with pytest.raises(ValueError, match=message):
        initializers.HeNormal()(shape)


def test_int_shape_means_1d():
    assert initializers.Ones()(4).shape == (4,)


# ------------------------------------------------------------------------ seeding
def test_set_random_seed_makes_unseeded_initializers_reproducible():
    def draw():
        mg_random.set_random_seed(123)
        a, b = initializers.GlorotUniform(), initializers.get("he_normal")
        return a(DEPTHWISE_1D), b(POINTWISE_1D), a(DEPTHWISE_1D)
    first, second = draw(), draw()
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
    # An unseeded instance draws fresh values on each call (documented deviation).
    assert not np.array_equal(first[0], first[2])
    mg_random.set_random_seed(124)
    assert not np.array_equal(initializers.GlorotUniform()(DEPTHWISE_1D), first[0])


def test_int_seed_gives_identical_values_on_every_call():
    init = initializers.GlorotUniform(seed=7)
    a = init((4, 5))
    mg_random.set_random_seed(0)                 # the global RNG does not matter
    np.testing.assert_array_equal(init((4, 5)), a)
    np.testing.assert_array_equal(initializers.GlorotUniform(seed=7)((4, 5)), a)
    assert not np.array_equal(initializers.GlorotUniform(seed=8)((4, 5)), a)
    for cls in (initializers.Orthogonal, initializers.TruncatedNormal,
                initializers.RandomNormal, initializers.RandomUniform):
        np.testing.assert_array_equal(cls(seed=3)((3, 4)), cls(seed=3)((3, 4)))


def test_random_helpers():
    mg_random.set_random_seed(5)
    a = mg_random.make_rng().random(3)
    b = mg_random.global_rng().random()
    mg_random.set_random_seed(5)
    np.testing.assert_array_equal(mg_random.make_rng().random(3), a)
    assert mg_random.global_rng().random() == b
    np.testing.assert_array_equal(mg_random.make_rng(9).random(2),
                                  np.random.default_rng(9).random(2))
    gen = np.random.default_rng(0)
    assert mg_random.make_rng(gen) is gen
    with pytest.raises(ValueError, match="non-negative integer"):
        mg_random.set_random_seed(-3)
    with pytest.raises(ValueError, match="non-negative integer"):
        mg_random.set_random_seed("1")


# ------------------------------------------------------------------------ lookup
@pytest.mark.parametrize("name, cls", [
    ("glorot_uniform", initializers.GlorotUniform), ("GlorotUniform", initializers.GlorotUniform),
    ("glorot_normal", initializers.GlorotNormal), ("he_uniform", initializers.HeUniform),
    ("he_normal", initializers.HeNormal), ("lecun_uniform", initializers.LecunUniform),
    ("lecun_normal", initializers.LecunNormal), ("orthogonal", initializers.Orthogonal),
    ("OrthogonalInitializer", initializers.Orthogonal),
    ("variance_scaling", initializers.VarianceScaling),
    ("truncated_normal", initializers.TruncatedNormal),
    ("random_normal", initializers.RandomNormal), ("normal", initializers.RandomNormal),
    ("random_uniform", initializers.RandomUniform), ("uniform", initializers.RandomUniform),
    ("zeros", initializers.Zeros), ("zero", initializers.Zeros), ("ones", initializers.Ones),
    ("one", initializers.Ones), ("identity", initializers.Identity),
    ("IdentityInitializer", initializers.Identity), ("constant", initializers.Constant),
])
def test_get_by_name(name, cls):
    assert type(initializers.get(name)) is cls


def test_get_other_identifiers():
    assert initializers.get(None) is None
    inst = initializers.HeUniform(seed=1)
    assert initializers.get(inst) is inst
    assert type(initializers.get(initializers.LecunNormal)) is initializers.LecunNormal
    fn = lambda shape, dtype=None: np.ones(shape)  # noqa: E731
    assert initializers.get(fn) is fn
    fixed = initializers.get(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(fixed((2, 3), "float64"), np.arange(6.0).reshape(2, 3))
    assert fixed((2, 3)).dtype == np.float32
    with pytest.raises(ValueError, match=r"initial value has shape \(2, 3\)"):
        fixed((3, 2))
    fixed = initializers.get(mg.Tensor(np.ones(2)))
    assert fixed((2,)).tolist() == [1, 1]


@pytest.mark.parametrize("bad", ["foo", "glorot", 3, object(), int])
def test_get_unknown_lists_valid_names(bad):
    with pytest.raises(ValueError, match="Could not interpret initializer identifier") as info:
        initializers.get(bad)
    assert "Valid names: " in str(info.value) and "glorot_uniform" in str(info.value)


@pytest.mark.parametrize("init", [
    initializers.GlorotUniform(seed=2), initializers.VarianceScaling(2.0, "fan_out", "uniform", 4),
    initializers.Orthogonal(gain=0.5, seed=1), initializers.Constant(3.0),
    initializers.TruncatedNormal(0.1, 0.2, seed=5), initializers.Identity(2.0),
    initializers.Zeros(),
])
def test_config_round_trip(init):
    config_dict = initializers.serialize(init)
    assert config_dict["class_name"] == type(init).__name__
    again = initializers.get(config_dict)
    assert type(again) is type(init) and again.get_config() == init.get_config()
    np.testing.assert_array_equal(again((3, 3)), init((3, 3)))
    assert type(init).from_config(init.get_config()).get_config() == init.get_config()


def test_preset_config_matches_keras():
    assert initializers.GlorotUniform().get_config() == \
        {"seed": None, "input_axes": None, "output_axes": None}
