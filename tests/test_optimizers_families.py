"""Adam, AdamW, RMSprop, Adagrad, Adamax and Nadam against float64 NumPy references written
straight from their docstring formulas (no Keras needed), plus slots, configs, errors and
the all-or-nothing step for every optimizer."""
import signal

import numpy as np
import pytest

import minigrad as mg
from minigrad import constraints, optimizers
from minigrad.optimizers.base import interrupts_deferred

SHAPES = [(3, 2), (2,)]


# ------------------------------------------------------------------------ references
def ref_adam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    s["m"] = beta_1 * s.get("m", 0) + (1 - beta_1) * g
    s["v"] = beta_2 * s.get("v", 0) + (1 - beta_2) * g ** 2
    v = s["v"]
    if amsgrad:
        v = s["vhat"] = np.maximum(s.get("vhat", 0), s["v"])
    alpha = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return w - alpha * s["m"] / (np.sqrt(v) + epsilon)


def ref_rmsprop(w, g, s, t, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    s["v"] = rho * s.get("v", 0) + (1 - rho) * g ** 2
    if centered:
        s["a"] = rho * s.get("a", 0) + (1 - rho) * g
        increment = lr * g / np.sqrt(s["v"] - s["a"] ** 2 + epsilon)
    else:
        increment = lr * g / np.sqrt(s["v"] + epsilon)
    if momentum > 0:
        s["m"] = momentum * s.get("m", 0) + increment
        return w - s["m"]
    return w - increment


def ref_adagrad(w, g, s, t, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    s["acc"] = s.get("acc", initial_accumulator_value) + g ** 2
    return w - lr * g / np.sqrt(s["acc"] + epsilon)


def ref_adamax(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    s["m"] = beta_1 * s.get("m", 0) + (1 - beta_1) * g
    s["u"] = np.maximum(beta_2 * s.get("u", 0), np.abs(g))
    return w - lr * s["m"] / ((1 - beta_1 ** t) * (s["u"] + epsilon))


def ref_nadam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    # shared["u_product"] is updated once per step by run_reference, before the variables.
    u_t = beta_1 * (1 - 0.5 * 0.96 ** t)
    u_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    product = s["shared"]["u_product"]
    s["m"] = beta_1 * s.get("m", 0) + (1 - beta_1) * g
    s["v"] = beta_2 * s.get("v", 0) + (1 - beta_2) * g ** 2
    m_hat = u_next * s["m"] / (1 - product * u_next) + (1 - u_t) * g / (1 - product)
    v_hat = s["v"] / (1 - beta_2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)


REFERENCES = {"Adam": ref_adam, "AdamW": ref_adam, "RMSprop": ref_rmsprop,
              "Adagrad": ref_adagrad, "Adamax": ref_adamax, "Nadam": ref_nadam}

CONFIGS = [
    ("Adam", dict(learning_rate=0.1)),
    ("Adam", dict(learning_rate=0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3, amsgrad=True)),
    ("Adam", dict(learning_rate=0.05, weight_decay=0.1, clipnorm=0.5)),
    ("AdamW", dict(learning_rate=0.05)),
    ("AdamW", dict(learning_rate=0.05, weight_decay=0.2, amsgrad=True, global_clipnorm=1.0)),
    ("RMSprop", dict(learning_rate=0.1)),
    ("RMSprop", dict(learning_rate=0.1, rho=0.5, momentum=0.7, epsilon=1e-2, centered=True)),
    ("RMSprop", dict(learning_rate=0.1, momentum=0.3, clipvalue=0.4, weight_decay=0.05)),
    ("Adagrad", dict(learning_rate=0.1)),
    ("Adagrad", dict(learning_rate=0.2, initial_accumulator_value=0.0, epsilon=1e-3,
                     weight_decay=0.1)),
    ("Adamax", dict(learning_rate=0.1)),
    ("Adamax", dict(learning_rate=0.1, beta_1=0.6, beta_2=0.8, epsilon=1e-2, clipnorm=1.0)),
    ("Nadam", dict(learning_rate=0.1)),
    ("Nadam", dict(learning_rate=0.1, beta_1=0.7, beta_2=0.95, epsilon=1e-3,
                   weight_decay=0.05, clipvalue=1.0)),
]

SHARED = {"weight_decay", "clipnorm", "clipvalue", "global_clipnorm"}


def run_reference(class_name, kwargs, weights, grad_steps):
    """The shared step (clip, decay, update) then the family's formula, float64."""
    kwargs = dict(kwargs)
    lr = kwargs.pop("learning_rate")
    shared = {k: kwargs.pop(k) for k in list(kwargs) if k in SHARED}
    if class_name == "AdamW":
        shared.setdefault("weight_decay", 0.004)
    formula = REFERENCES[class_name]
    ws = [np.array(w, dtype=np.float64) for w in weights]
    common = {"u_product": 1.0}
    states = [{"shared": common} for _ in ws]
    for t, grads in enumerate(grad_steps, start=1):
        gs = [np.array(g, dtype=np.float64) for g in grads]
        if shared.get("clipnorm"):
            gs = [g * shared["clipnorm"] / max(np.linalg.norm(g), shared["clipnorm"])
                  for g in gs]
        elif shared.get("global_clipnorm"):
            total = np.sqrt(sum(np.sum(g * g) for g in gs))
            gs = [g * shared["global_clipnorm"] / max(total, shared["global_clipnorm"])
                  for g in gs]
        elif shared.get("clipvalue"):
            gs = [np.clip(g, -shared["clipvalue"], shared["clipvalue"]) for g in gs]
        if shared.get("weight_decay") is not None:
            ws = [w * (1 - shared["weight_decay"] * lr) for w in ws]
        common["u_product"] *= kwargs.get("beta_1", 0.9) * (1 - 0.5 * 0.96 ** t)
        ws = [formula(w, g, s, t, lr, **kwargs) for w, g, s in zip(ws, gs, states)]
    return ws


def make_problem(dtype, seed=0, steps=4):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=s) for s in SHAPES]
    grad_steps = [[rng.normal(scale=1.5, size=s) for s in SHAPES] for _ in range(steps)]
    variables = [mg.Variable(w.astype(dtype), name=name)
                 for w, name in zip(weights, ["kernel", "bias"])]
    return weights, grad_steps, variables


@pytest.mark.parametrize("class_name, kwargs", CONFIGS,
                         ids=[f"{c}-{i}" for i, (c, _) in enumerate(CONFIGS)])
@pytest.mark.parametrize("dtype, atol", [("float64", 1e-12), ("float32", 2e-5)])
def test_update_matches_the_written_formula(class_name, kwargs, dtype, atol):
    weights, grad_steps, variables = make_problem(dtype)
    opt = getattr(optimizers, class_name)(**kwargs)
    for grads in grad_steps:
        opt.apply([g.astype(dtype) for g in grads], variables)
    expected = run_reference(class_name, kwargs, weights, grad_steps)
    for v, e in zip(variables, expected):
        assert v.dtype == np.dtype(dtype)
        np.testing.assert_allclose(v.numpy(), e, atol=atol, rtol=0)
    assert opt.iterations == len(grad_steps)
    assert all(s.dtype == np.dtype(dtype) for s in opt.variables)


# ------------------------------------------------------------------------ slots and config
EXPECTED_SLOTS = [
    ("SGD", dict(momentum=0.9), ["momentum"]),
    ("SGD", dict(), []),
    ("Adam", dict(), ["momentum", "velocity"]),
    ("Adam", dict(amsgrad=True), ["momentum", "velocity", "velocity_hat"]),
    ("AdamW", dict(), ["momentum", "velocity"]),
    ("RMSprop", dict(), ["velocity"]),
    ("RMSprop", dict(momentum=0.5, centered=True), ["velocity", "momentum", "average_gradient"]),
    ("Adagrad", dict(), ["accumulator"]),
    ("Adamax", dict(), ["momentum", "norm"]),
    ("Nadam", dict(), ["momentum", "velocity"]),
]


@pytest.mark.parametrize("class_name, kwargs, slots", EXPECTED_SLOTS)
def test_slots_are_exposed_by_name(class_name, kwargs, slots):
    _, grad_steps, (kernel, bias) = make_problem("float32")
    opt = getattr(optimizers, class_name)(**kwargs)
    assert opt.variables == [] and not opt.built
    opt.apply(grad_steps[0], [kernel, bias])
    assert opt.slot_names == slots
    assert [v.name for v in opt.variables] == [f"{w}_{s}" for s in slots
                                               for w in ("kernel", "bias")]
    for slot in slots:
        buffer = opt.get_slot(bias, slot)
        assert buffer.shape == (2,) and buffer.dtype == np.float32 and not buffer.trainable
    with pytest.raises(KeyError, match="no slot 'nope'"):
        opt.get_slot(bias, "nope")


def test_adagrad_accumulator_starts_at_initial_value():
    opt = optimizers.Adagrad(initial_accumulator_value=0.25)
    v = mg.Variable(np.zeros(3))
    opt.build([v])
    np.testing.assert_array_equal(opt.get_slot(v, "accumulator").numpy(), [0.25] * 3)


@pytest.mark.parametrize("class_name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
                                        "Adamax", "Nadam"])
def test_registered_by_name_and_config_round_trips(class_name):
    cls = getattr(optimizers, class_name)
    assert type(optimizers.get(class_name.lower())) is cls
    assert type(optimizers.get(class_name)) is cls
    schedule = optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    opt = cls(learning_rate=schedule, clipnorm=2.0, name="mine")
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "ExponentialDecay"
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is cls and again.get_config() == config
    assert again.learning_rate == pytest.approx(0.1)
    assert cls.from_config(config).get_config() == config


@pytest.mark.parametrize("class_name, kwargs, message", [
    ("Adam", dict(beta_1=1.0), r"`beta_1` must be a number in \[0, 1\). Received: beta_1=1.0"),
    ("Adam", dict(beta_1=-0.1), "beta_1=-0.1"),
    ("Adam", dict(beta_2=1.5), "beta_2=1.5"),
    ("Adam", dict(epsilon=0.0), "`epsilon` must be a positive number. Received: epsilon=0.0"),
    ("Adam", dict(epsilon=-1e-7), "epsilon=-1e-07"),
    ("Adam", dict(amsgrad="yes"), "`amsgrad` must be a boolean"),
    ("Adam", dict(learning_rate=-1e-3), "learning_rate=-0.001"),
    ("Adam", dict(learning_rate="fast"), "learning_rate='fast'"),
    ("AdamW", dict(weight_decay=None), "`weight_decay` must be a float"),
    ("AdamW", dict(weight_decay=-0.1), "weight_decay=-0.1"),
    ("RMSprop", dict(rho=1.1), r"`rho` must be a number in \[0, 1\]. Received: rho=1.1"),
    ("RMSprop", dict(momentum=2.0), "momentum=2.0"),
    ("RMSprop", dict(centered=1), "`centered` must be a boolean"),
    ("RMSprop", dict(epsilon=float("nan")), "epsilon=nan"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "initial_accumulator_value=-1.0"),
    ("Adagrad", dict(epsilon=0), "epsilon=0"),
    ("Adamax", dict(beta_2=1.0), "beta_2=1.0"),
    ("Nadam", dict(beta_1=1.0), "beta_1=1.0"),
    ("Nadam", dict(clipnorm=1.0, clipvalue=1.0), "Only one of"),
    ("Adam", dict(lr=0.1), "not recognized"),
])
def test_bad_hyperparameters_name_the_argument(class_name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        getattr(optimizers, class_name)(**kwargs)


def test_schedule_learning_rate_is_not_settable_but_a_number_is():
    opt = optimizers.Adam(learning_rate=optimizers.schedules.ExponentialDecay(0.1, 1, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01
    opt = optimizers.Adam()
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and not opt.has_schedule


def test_callable_learning_rate_with_or_without_the_step():
    v = mg.Variable(np.zeros(1))
    opt = optimizers.SGD(learning_rate=lambda: 0.5)
    opt.apply([np.ones(1)], [v])
    np.testing.assert_allclose(v.numpy(), [-0.5])
    opt = optimizers.SGD(learning_rate=lambda step: 0.1 * (step + 1))
    opt.apply([np.ones(1)], [v])
    opt.apply([np.ones(1)], [v])
    np.testing.assert_allclose(v.numpy(), [-0.5 - 0.1 - 0.2])


# ------------------------------------------------------------------------ all-or-nothing
ALL = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Nadam"]
ARGS = {"SGD": dict(momentum=0.9), "RMSprop": dict(momentum=0.5, centered=True),
        "Adam": dict(amsgrad=True)}


def snapshot(opt, variables):
    return ([v.numpy().copy() for v in variables], [s.numpy().copy() for s in opt.variables],
            opt.iterations, getattr(opt, "u_product", None))


def assert_same(before, after):
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        np.testing.assert_array_equal(a, b)
    assert len(before[1]) == len(after[1])
    assert before[2:] == after[2:]


class Boom(Exception):
    pass


@pytest.mark.parametrize("class_name", ALL)
@pytest.mark.parametrize("failure", [Boom, KeyboardInterrupt])
def test_a_constraint_that_raises_leaves_everything_as_before(class_name, failure):
    _, grad_steps, (kernel, bias) = make_problem("float64")
    calls = []

    def constraint(w):
        calls.append(1)
        if len(calls) == 2:
            raise failure("in the constraint")
        return w

    bias.constraint = constraint
    opt = getattr(optimizers, class_name)(**ARGS.get(class_name, {}))
    opt.apply(grad_steps[0], [kernel, bias])                   # call 1: fine
    before = snapshot(opt, [kernel, bias])
    with pytest.raises(failure):
        opt.apply(grad_steps[1], [kernel, bias])               # call 2: raises
    assert_same(before, snapshot(opt, [kernel, bias]))
    opt.apply(grad_steps[1], [kernel, bias])                   # and it carries on fine
    assert opt.iterations == 2


@pytest.mark.parametrize("class_name", ALL)
def test_a_failed_first_step_does_not_build(class_name):
    _, grad_steps, (kernel, bias) = make_problem("float64")
    kernel.constraint = constraints.MaxNorm(1.0)
    bias.constraint = lambda w: np.ones(5)                     # wrong shape
    opt = getattr(optimizers, class_name)(**ARGS.get(class_name, {}))
    before = [kernel.numpy().copy(), bias.numpy().copy()]
    with pytest.raises(ValueError, match="returned shape"):
        opt.apply(grad_steps[0], [kernel, bias])
    assert not opt.built and opt.variables == [] and opt.iterations == 0
    np.testing.assert_array_equal(kernel.numpy(), before[0])
    np.testing.assert_array_equal(bias.numpy(), before[1])


def test_ctrl_c_during_the_commit_is_held_until_the_step_is_whole():
    # Python's own Ctrl-C handler, whatever this process inherited: a test run started in the
    # background of a non-interactive shell ignores SIGINT (SIG_IGN), and then the deferred
    # signal is rightly dropped, not raised
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    reached = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts_deferred():
                # raise_signal delivers to this thread at once; os.kill could land on another
                # thread (OpenMP, torch) and be handled only after the block, flaky under load
                signal.raise_signal(signal.SIGINT)
                reached.append("after the signal")
        assert reached == ["after the signal"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_an_ignored_ctrl_c_stays_ignored_after_the_commit():
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, inherited)


@pytest.mark.parametrize("class_name", ALL)
def test_unknown_variables_are_refused_and_nothing_grows(class_name):
    _, grad_steps, (kernel, bias) = make_problem("float64")
    opt = getattr(optimizers, class_name)(**ARGS.get(class_name, {}))
    opt.apply(grad_steps[0], [kernel, bias])
    opt.apply(grad_steps[1][1:], [bias])                       # a subset is fine
    before = snapshot(opt, [kernel, bias])
    stranger = mg.Variable(np.ones(2), name="stranger")
    with pytest.raises(ValueError, match="Unknown variable 'stranger'.*create a new optimizer"):
        opt.apply([grad_steps[2][1], np.ones(2)], [bias, stranger])
    assert_same(before, snapshot(opt, [kernel, bias]))
    np.testing.assert_array_equal(stranger.numpy(), [1, 1])
