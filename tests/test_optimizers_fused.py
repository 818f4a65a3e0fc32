"""The fused update (minigrad/optimizers/fused.py): every built-in optimizer moves all its
variables with one update_step call, and the result must be bitwise the one of a call per
variable, for every option that changes the formula."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import constraints, optimizers
from minigrad.optimizers import fused

SHAPES = [(3, 3, 4, 2), (5,), (1,), (7, 3), (2, 1, 6)]

CONFIGS = [
    (optimizers.SGD, {"learning_rate": 0.05}),
    (optimizers.SGD, {"learning_rate": 0.05, "momentum": 0.9}),
    (optimizers.SGD, {"learning_rate": 0.05, "momentum": 0.7, "nesterov": True}),
    (optimizers.Adam, {"learning_rate": 0.01}),
    (optimizers.Adam, {"learning_rate": 0.01, "amsgrad": True, "clipnorm": 0.5}),
    (optimizers.AdamW, {"learning_rate": 0.01, "weight_decay": 0.1}),
    (optimizers.SGD, {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 0.01,
                      "clipnorm": 2.0}),
    (optimizers.RMSprop, {"learning_rate": 0.01}),
    (optimizers.RMSprop, {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    (optimizers.Adagrad, {"learning_rate": 0.1, "global_clipnorm": 1.0}),
    (optimizers.Adamax, {"learning_rate": 0.01}),
    (optimizers.Nadam, {"learning_rate": 0.01, "clipvalue": 0.3}),
]


def _variables(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [mg.Variable(rng.standard_normal(shape).astype(dtype), name=f"w{i}")
            for i, shape in enumerate(SHAPES)]


def _run(cls, kwargs, joined, dtype, steps=4):
    variables = _variables(dtype)
    variables[1].constraint = constraints.NonNeg()
    optimizer = cls(**kwargs)
    optimizer.elementwise = joined
    if optimizer.weight_decay:
        optimizer.exclude_from_weight_decay(var_names=["w3"])
    rng = np.random.default_rng(1)
    for _ in range(steps):
        grads = [rng.standard_normal(v.shape).astype(dtype) * 3 for v in variables]
        optimizer.apply(grads, variables)
    return variables, optimizer


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_step_is_bitwise_the_per_variable_step(cls, kwargs, dtype):
    assert cls.elementwise
    fused, opt_f = _run(cls, kwargs, True, dtype)
    single, opt_s = _run(cls, kwargs, False, dtype)
    for a, b in zip(fused, single):
        assert a.dtype == dtype and a.shape == b.shape and a.data.flags.c_contiguous
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(opt_f.variables, opt_s.variables):
        np.testing.assert_array_equal(np.asarray(a.numpy()), np.asarray(b.numpy()))


def test_a_weight_handed_out_keeps_its_value_after_the_next_step():
    variables = _variables(np.float32)
    optimizer = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    grads = [np.ones(v.shape, np.float32) for v in variables]
    optimizer.apply(grads, variables)
    kept = [v.data for v in variables]
    copies = [k.copy() for k in kept]
    optimizer.apply(grads, variables)
    for k, c, v in zip(kept, copies, variables):
        np.testing.assert_array_equal(k, c)            # the old arrays did not move
        assert not np.array_equal(v.data, c)           # the variables did


def test_subset_of_variables_and_none_gradients_update_only_those():
    variables = _variables(np.float64)
    optimizer = optimizers.Adam(learning_rate=0.1)
    optimizer.build(variables)
    before = [v.numpy().copy() for v in variables]
    grads = [None, np.ones(SHAPES[1]), None, np.ones(SHAPES[3]), None]
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        optimizer.apply(grads, variables)
    for i, (v, b) in enumerate(zip(variables, before)):
        assert np.array_equal(v.numpy(), b) == (grads[i] is None)
    # the slots of the skipped variables stay zero; the others moved
    m = {s.name: s.numpy() for s in optimizer.variables if s.name.endswith("_momentum")}
    assert not m["w0_momentum"].any() and m["w1_momentum"].all()


def test_mixed_dtypes_and_constraints_still_work():
    variables = _variables(np.float32)
    variables[2] = mg.Variable(np.full((1,), 5.0), name="w2",
                               constraint=constraints.NonNeg())        # float64
    optimizer = optimizers.SGD(learning_rate=10.0)
    grads = [np.ones(v.shape, v.dtype) for v in variables]
    optimizer.apply(grads, variables)
    assert variables[2].dtype == np.float64 and variables[2].numpy()[0] == 0.0   # clipped
    np.testing.assert_array_equal(variables[1].numpy(), _variables(np.float32)[1].numpy() - 10)


def test_a_custom_optimizer_is_called_once_per_variable_by_default():
    calls = []

    class Halve(optimizers.Optimizer):
        def update_step(self, grad, value, slots, learning_rate, context):
            calls.append(value.shape)
            return value / 2, {}

    variables = _variables(np.float32)
    Halve(learning_rate=0.1).apply([np.ones(v.shape, np.float32) for v in variables],
                                   variables)
    assert calls == SHAPES


def test_large_weights_are_updated_alone_and_groups_are_bounded(monkeypatch):
    monkeypatch.setattr(fused, "SMALL", 8)           # (3, 3, 4, 2) and (7, 3) count as large
    monkeypatch.setattr(fused, "GROUP_SIZE", 6)      # (5,) and (1,) fill one group
    assert sorted(fused._groups(_variables(np.float32))) == [[0], [1, 2], [3], [4]]
    variables = _variables(np.float32)
    reference = _variables(np.float32)
    for group, joined in ((variables, True), (reference, False)):
        optimizer = optimizers.Adam(learning_rate=0.1)
        optimizer.elementwise = joined
        for _ in range(2):
            optimizer.apply([np.full(v.shape, 0.5, np.float32) for v in group], group)
    for a, b in zip(variables, reference):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert variables[0].data.base is None                 # a large weight: its own array
    assert variables[1].data.base.size == 6               # a group of 5 + 1 numbers
    assert variables[4].data.base is None                 # alone in its group: not joined


def test_a_small_weight_kept_does_not_hold_the_large_ones():
    variables = [mg.Variable(np.zeros((300, 400), np.float32)), mg.Variable(np.zeros(3, np.float32))]
    optimizers.SGD(learning_rate=0.1).apply([np.ones(v.shape, np.float32) for v in variables],
                                            variables)
    bias = variables[1].data
    assert bias.base is None or bias.base.size < fused.SMALL


def test_a_failing_step_on_the_joined_path_changes_nothing():
    variables = _variables(np.float32)
    variables[3].constraint = lambda w: (_ for _ in ()).throw(RuntimeError("boom"))
    optimizer = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    before = [v.numpy().copy() for v in variables]
    with pytest.raises(RuntimeError, match="boom"):
        optimizer.apply([np.ones(v.shape, np.float32) for v in variables], variables)
    for v, b in zip(variables, before):
        np.testing.assert_array_equal(v.numpy(), b)
    assert optimizer.iterations == 0


def test_a_subclass_with_its_own_update_step_is_not_joined():
    calls = []

    class NormalizedSGD(optimizers.SGD):
        def update_step(self, grad, value, slots, learning_rate, context):
            calls.append(value.shape)
            return value - learning_rate * grad / np.linalg.norm(grad), {}

    class Faster(optimizers.SGD):            # a subclass that keeps the formula stays joined
        pass

    assert not NormalizedSGD.elementwise and Faster.elementwise
    a, b = mg.Variable(np.zeros(3)), mg.Variable(np.zeros(1))
    NormalizedSGD(learning_rate=1.0).apply([np.ones(3), np.ones(1)], [a, b])
    assert calls == [(3,), (1,)]
    np.testing.assert_allclose(a.numpy(), -1 / np.sqrt(3))
    np.testing.assert_allclose(b.numpy(), [-1.0])
