"""Tests for minigrad.optimizers.SGD against a float64 NumPy re-implementation of
Keras 3's step order (minigrad/optimizers.py docstring), plus constraints, weight-decay exclusions and every error."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import constraints, optimizers
from minigrad.optimizers import SGD

SHAPES = [(3, 2), (2,)]


def reference_sgd(weights, grad_steps, learning_rate=0.01, momentum=0.0, nesterov=False,
                  weight_decay=None, clipnorm=None, global_clipnorm=None, clipvalue=None):
    """Plain float64 NumPy, written straight from the spec's numbered list."""
    ws = [np.array(w, dtype=np.float64) for w in weights]
    ms = [np.zeros_like(w) for w in ws]
    for grads in grad_steps:
        gs = [np.array(g, dtype=np.float64) for g in grads]
        if clipnorm:
            gs = [g * clipnorm / max(np.linalg.norm(g), clipnorm) for g in gs]
        elif global_clipnorm:
            total = np.sqrt(sum(np.sum(g * g) for g in gs))
            gs = [g * global_clipnorm * min(1 / total, 1 / global_clipnorm) for g in gs]
        elif clipvalue:
            gs = [np.clip(g, -clipvalue, clipvalue) for g in gs]
        if weight_decay is not None:
            ws = [w * (1 - weight_decay * learning_rate) for w in ws]
        for i, g in enumerate(gs):
            if momentum == 0:
                ws[i] = ws[i] - learning_rate * g
            else:
                ms[i] = momentum * ms[i] - learning_rate * g
                ws[i] = ws[i] + (momentum * ms[i] - learning_rate * g if nesterov else ms[i])
    return ws


CONFIGS = {
    "plain": dict(learning_rate=0.1),
    "momentum": dict(learning_rate=0.1, momentum=0.9),
    "nesterov": dict(learning_rate=0.1, momentum=0.9, nesterov=True),
    "wd": dict(learning_rate=0.1, weight_decay=0.05),
    "nesterov+wd": dict(learning_rate=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
    "clipnorm": dict(learning_rate=0.1, clipnorm=0.5),
    "global_clipnorm": dict(learning_rate=0.1, global_clipnorm=0.7),
    "clipvalue": dict(learning_rate=0.1, clipvalue=0.3),
    "momentum+clipnorm+wd": dict(learning_rate=0.1, momentum=0.5, clipnorm=0.4,
                                 weight_decay=0.02),
}


def make_problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=s) for s in SHAPES]
    steps = [[rng.normal(scale=2.0, size=s) for s in SHAPES] for _ in range(3)]
    variables = [mg.Variable(w.astype(dtype), name=name)
                 for w, name in zip(weights, ["kernel", "bias"])]
    return weights, steps, variables


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("dtype, atol", [("float64", 1e-13), ("float32", 1e-5)])
@pytest.mark.parametrize("entry", ["apply", "apply_gradients", "tensors"])
def test_matches_reference_over_three_steps(name, dtype, atol, entry):
    kwargs = CONFIGS[name]
    weights, steps, variables = make_problem(dtype)
    opt = SGD(**kwargs)
    for grads in steps:
        grads = [g.astype(dtype) for g in grads]
        if entry == "apply":
            opt.apply(grads, variables)
        elif entry == "apply_gradients":
            opt.apply_gradients(zip(grads, variables))
        else:
            opt.apply([mg.Tensor(g) for g in grads], variables)
    expected = reference_sgd(weights, steps, **kwargs)
    for v, e in zip(variables, expected):
        assert v.dtype == np.dtype(dtype)
        np.testing.assert_allclose(v.numpy(), e, rtol=0, atol=atol)
    assert opt.iterations == 3


def test_clipping_actually_clips_in_these_configs():
    # Guard against a reference that never triggers: the clipped steps differ from plain.
    weights, steps, _ = make_problem("float64")
    plain = reference_sgd(weights, steps, learning_rate=0.1)
    for name in ("clipnorm", "global_clipnorm", "clipvalue"):
        clipped = reference_sgd(weights, steps, **CONFIGS[name])
        assert not np.allclose(plain[0], clipped[0])


def test_zero_clip_values_disable_clipping():
    weights, steps, variables = make_problem("float64")
    opt = SGD(learning_rate=0.1, clipnorm=0)
    for grads in steps:
        opt.apply(grads, variables)
    np.testing.assert_allclose(variables[0].numpy(),
                               reference_sgd(weights, steps, learning_rate=0.1)[0], atol=1e-14)


def test_global_clipnorm_non_finite_gives_nan():
    v = mg.Variable(np.zeros(2))
    SGD(global_clipnorm=1.0).apply([np.array([np.inf, 1.0])], [v])
    assert np.isnan(v.numpy()).all()


def test_learning_rate_is_settable_and_used_at_each_step():
    weights, steps, variables = make_problem("float64")
    opt = SGD(learning_rate=0.1, momentum=0.5)
    opt.apply(steps[0], variables)
    opt.learning_rate = 0.0
    assert opt.learning_rate == 0.0
    before = [v.numpy().copy() for v in variables]
    opt.apply([np.zeros(s) for s in SHAPES], variables)
    # lr 0 but the momentum keeps moving the weights: m <- 0.5 m.
    assert not np.allclose(before[0], variables[0].numpy())


def test_learning_rate_schedule():
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.1 / (1 + step)
    v = mg.Variable(np.zeros(1))
    opt = SGD(learning_rate=schedule)
    for _ in range(3):
        opt.apply([np.ones(1)], [v])
    assert seen == [0, 1, 2]
    np.testing.assert_allclose(v.numpy(), [-(0.1 + 0.05 + 0.1 / 3)])
    with pytest.raises(ValueError, match="schedule returned -1"):
        SGD(learning_rate=lambda step: -1).apply([np.ones(1)], [v])


# ------------------------------------------------------------------------ state and config
def test_momentum_buffers_created_lazily():
    _, steps, variables = make_problem("float32")
    opt = SGD(learning_rate=0.1, momentum=0.9)
    assert opt.variables == []
    opt.apply(steps[0], variables)
    assert [m.shape for m in opt.variables] == SHAPES
    assert all(m.dtype == np.float32 and not m.trainable for m in opt.variables)
    assert [m.name for m in opt.variables] == ["kernel_momentum", "bias_momentum"]
    np.testing.assert_allclose(opt.variables[0].numpy(), -0.1 * steps[0][0], rtol=1e-6)
    plain = SGD(learning_rate=0.1)
    plain.apply(steps[0], variables)
    assert plain.variables == []


def test_config_round_trip_and_names():
    opt = SGD(learning_rate=0.2, momentum=0.5, nesterov=True, weight_decay=0.01,
              clipvalue=1.0, name="mine")
    config = opt.get_config()
    assert config == {"name": "mine", "learning_rate": 0.2, "weight_decay": 0.01,
                      "clipnorm": None, "global_clipnorm": None, "clipvalue": 1.0,
                      "momentum": 0.5, "nesterov": True}
    assert SGD.from_config(config).get_config() == config
    again = optimizers.get(optimizers.serialize(opt))
    assert isinstance(again, SGD) and again.get_config() == config
    a, b = SGD(), SGD()
    assert a.name.startswith("sgd") and b.name.startswith("sgd_") and a.name != b.name


def test_get():
    assert isinstance(optimizers.get("sgd"), SGD)
    assert isinstance(optimizers.get("SGD"), SGD)
    assert isinstance(optimizers.get(SGD), SGD)
    opt = SGD()
    assert optimizers.get(opt) is opt
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: adamm. "
                                         "Valid names: .*Adam, .*adam, .*sgd"):
        optimizers.get("adamm")


def test_update_gives_variables_fresh_buffers():
    v = mg.Variable(np.ones(3))
    with mg.GradientTape() as tape:
        y = (v * v).sum()
    old = v.numpy()
    SGD(learning_rate=0.5).apply([np.ones(3)], [v])
    assert v.numpy() is not old and old.tolist() == [1, 1, 1]      # tape's copy untouched
    np.testing.assert_allclose(tape.gradient(y, v), [2, 2, 2])


def test_grads_are_not_modified():
    g = np.array([3.0, 4.0])
    SGD(clipnorm=1.0, momentum=0.9).apply([g], [mg.Variable(np.zeros(2))])
    assert g.tolist() == [3.0, 4.0]


# ------------------------------------------------------------------------ weight decay exclusions
def test_exclude_from_weight_decay():
    weights, steps, variables = make_problem("float64")
    kernel, bias = variables
    other = mg.Variable(np.ones(2), name="dense/bias")
    opt = SGD(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[kernel], var_names=["bias$"])
    opt.apply([np.zeros((3, 2)), np.zeros(2), np.zeros(2)], [kernel, bias, other])
    np.testing.assert_array_equal(kernel.numpy(), weights[0])
    np.testing.assert_array_equal(bias.numpy(), weights[1])
    np.testing.assert_array_equal(other.numpy(), [1, 1])
    kept = mg.Variable(np.ones(2), name="kernel_2")
    opt = SGD(learning_rate=0.1, weight_decay=0.5)
    opt.apply([np.zeros(2)], [kept])
    np.testing.assert_allclose(kept.numpy(), [0.95, 0.95])
    opt.exclude_from_weight_decay(var_names="kernel_\\d")     # a single string is fine
    opt.apply([np.zeros(2)], [kept])
    np.testing.assert_allclose(kept.numpy(), [0.95, 0.95])
    with pytest.raises(ValueError, match="not a valid regular expression"):
        opt.exclude_from_weight_decay(var_names=["("])
    with pytest.raises(TypeError, match="var_list must hold Variables"):
        opt.exclude_from_weight_decay(var_list=[np.ones(2)])


def test_weight_decay_applies_to_biases_and_uses_pre_update_weights():
    w = mg.Variable(np.array([2.0]), name="bias")
    SGD(learning_rate=0.1, weight_decay=0.5).apply([np.array([1.0])], [w])
    assert w.numpy()[0] == pytest.approx(2.0 * (1 - 0.05) - 0.1)


# ------------------------------------------------------------------------ constraints
def test_constraints_apply_after_every_step_even_with_zero_lr_never_before():
    kernel = mg.Variable(np.full((3, 4), 5.0), constraint=constraints.MaxNorm(1.0))
    bias = mg.Variable(np.array([-1.0, 2.0]), constraint=constraints.NonNeg())
    free = mg.Variable(np.array([-1.0]))
    opt = SGD(learning_rate=0.0, momentum=0.9)
    np.testing.assert_array_equal(kernel.numpy(), np.full((3, 4), 5.0))     # not at creation
    kernel.assign(np.full((3, 4), 5.0))
    np.testing.assert_array_equal(kernel.numpy(), np.full((3, 4), 5.0))     # not on assign
    opt.apply([np.zeros((3, 4)), np.zeros(2), np.zeros(1)], [kernel, bias, free])
    np.testing.assert_allclose(np.linalg.norm(kernel.numpy(), axis=0), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(bias.numpy(), [0.0, 2.0])
    np.testing.assert_array_equal(free.numpy(), [-1.0])


def test_constraint_runs_after_the_update():
    v = mg.Variable(np.array([0.5]), constraint=constraints.NonNeg())
    SGD(learning_rate=1.0).apply([np.array([1.0])], [v])        # 0.5 - 1 = -0.5 -> 0
    assert v.numpy().tolist() == [0.0]
    seen = []
    v = mg.Variable(np.array([1.0]), constraint=lambda w: seen.append(w.numpy().copy()) or w)
    SGD(learning_rate=0.25).apply([np.array([1.0])], [v])
    assert seen[0].tolist() == [0.75]


def test_constraints_skip_variables_with_none_gradient():
    v = mg.Variable(np.array([-1.0]), constraint=constraints.NonNeg())
    w = mg.Variable(np.array([1.0]))
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        SGD().apply([None, np.array([1.0])], [v, w])
    assert v.numpy().tolist() == [-1.0]


def test_constraint_returning_wrong_shape():
    v = mg.Variable(np.ones(3), name="k", constraint=lambda w: np.ones(2))
    with pytest.raises(ValueError, match="constraint of variable 'k' returned shape"):
        SGD().apply([np.ones(3)], [v])


# ------------------------------------------------------------------------ None gradients
def test_none_gradients_are_dropped_with_a_warning():
    a, b = mg.Variable(np.ones(2), name="a"), mg.Variable(np.ones(2), name="b")
    opt = SGD(learning_rate=1.0)
    with pytest.warns(UserWarning, match=r"\['a'\]"):
        opt.apply([None, np.ones(2)], [a, b])
    assert a.numpy().tolist() == [1, 1] and b.numpy().tolist() == [0, 0]
    with pytest.raises(ValueError, match=r"No gradients provided for any variable: \['a', 'b'\]"):
        opt.apply([None, None], [a, b])
    assert opt.iterations == 1


# ------------------------------------------------------------------------ constructor errors
@pytest.mark.parametrize("kwargs, message", [
    (dict(momentum=1.5), "Argument `momentum` must be a float between \\[0, 1\\]. Received: "
                         "momentum=1.5"),
    (dict(momentum=-0.1), "momentum=-0.1"),
    (dict(momentum="0.9"), "momentum='0.9'"),
    (dict(momentum=2), "momentum=2"),
    (dict(momentum=True), "momentum=True"),
    (dict(nesterov=1), "Argument `nesterov` must be a boolean. Received: nesterov=1"),
    (dict(learning_rate=-0.1), "Argument `learning_rate` must be a non-negative number"),
    (dict(learning_rate="0.1"), "learning_rate='0.1'"),
    (dict(learning_rate=float("nan")), "learning_rate=nan"),
    (dict(learning_rate=None), "learning_rate=None"),
    (dict(weight_decay=-1.0), "Argument `weight_decay` must be None or a non-negative number"),
    (dict(clipnorm=-1.0), "Argument `clipnorm` must be None or a non-negative number"),
    (dict(clipvalue="1"), "clipvalue='1'"),
    (dict(global_clipnorm=float("inf")), "global_clipnorm=inf"),
    (dict(clipnorm=1.0, clipvalue=1.0), "Only one of `clipnorm`, `clipvalue` and "
                                        "`global_clipnorm` can be set"),
    (dict(clipnorm=1.0, global_clipnorm=1.0), "Only one of"),
    (dict(clipvalue=1.0, global_clipnorm=1.0), "Only one of"),
    (dict(lr=0.1), "Argument\\(s\\) not recognized: \\{'lr': 0.1\\} \\(did you mean "
                   "`learning_rate`\\?\\)"),
    (dict(beta=0.1), "not recognized"),
    (dict(name=3), "Argument `name` must be a string"),
])
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD(**kwargs)


def test_constructor_accepts_ints_deliberately():
    opt = SGD(learning_rate=1, momentum=0)
    assert opt.learning_rate == 1.0 and opt.momentum == 0
    assert SGD(momentum=1).momentum == 1
    assert SGD(learning_rate=0.0).learning_rate == 0.0


def test_decay_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        SGD(decay=0.1)


def test_learning_rate_setter_validates():
    opt = SGD()
    with pytest.raises(ValueError, match="learning_rate=-2"):
        opt.learning_rate = -2
    assert opt.learning_rate == 0.01


# ------------------------------------------------------------------------ apply errors
def assert_unchanged(variables, values):
    for v, before in zip(variables, values):
        np.testing.assert_array_equal(v.numpy(), before)


@pytest.mark.parametrize("case, error, message", [
    ("shape", ValueError, r"The gradient for variable 'bias' has shape \(3,\), but the "
                          r"variable has shape \(2,\)"),
    ("count", ValueError, "Got 1 gradients for 2 variables"),
    ("frozen", ValueError, "Variable 'bias' is not trainable"),
    ("tensor", TypeError, "Optimizers update Variables; item 1 is a Tensor"),
    ("array", TypeError, "item 1 is a ndarray"),
    ("twice", ValueError, "Variable 'kernel' appears more than once"),
    ("dtype", TypeError, "must be numeric, got dtype <U1"),
])
def test_apply_errors_change_nothing(case, error, message):
    _, steps, (kernel, bias) = make_problem("float64")
    opt = SGD(learning_rate=0.1, momentum=0.9)
    before = [kernel.numpy().copy(), bias.numpy().copy()]
    grads, variables = [steps[0][0], steps[0][1]], [kernel, bias]
    if case == "shape":
        grads[1] = np.ones(3)
    elif case == "count":
        grads = grads[:1]
    elif case == "frozen":
        bias.trainable = False
    elif case == "tensor":
        variables[1] = mg.Tensor(bias.numpy())
    elif case == "array":
        variables[1] = bias.numpy()
    elif case == "twice":
        grads, variables = [grads[0], grads[0]], [kernel, kernel]
    elif case == "dtype":
        grads[1] = np.array(["a", "b"])
    with pytest.raises(error, match=message):
        opt.apply(grads, variables)
    assert_unchanged([kernel, bias], before)
    assert opt.iterations == 0 and opt.variables == []


def test_apply_gradients_needs_pairs():
    v = mg.Variable(np.ones(2))
    with pytest.raises(ValueError, match="expects \\(gradient, variable\\) pairs; item 0"):
        SGD().apply_gradients([np.ones(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SGD().apply_gradients([(np.ones(2), v)])
