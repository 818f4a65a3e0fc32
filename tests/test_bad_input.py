"""Bad input over the whole integer range: no crash, no silent wrong result, named errors.

Hypothesis draws convolution geometries whose strides, dilations, pads, kernel and pool
sizes come from the full integer range (small values, values near the bound
``MAX_GEOMETRY = 2**31 - 1``, values near and past ``2**63``, negatives). Each batch of cases
runs in a child process, so a segfault or an out-of-bounds write fails the test instead of
killing the suite. For every case the child calls

* the raw compiled kernels (``depthwise_forward``/``_backward_input``/``_backward_kernel``),
* ``ops.depthwise_conv`` (and ``ops.separable_conv`` / ``ops.conv`` when small), and
* the layers (``DepthwiseConv``, ``SeparableConv``, ``Conv``, ``MaxPooling``/``AveragePooling``),

and reports either the result's agreement with a tiny exact reference (plain Python index
arithmetic, which cannot overflow and never materialises the padding) or the error raised.
The parent then checks: geometry inside the bounds must give the reference's answer, geometry
outside must raise ``ValueError`` naming the offending argument.
"""
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from minigrad import _kernels
from minigrad.ops.geometry import MAX_GEOMETRY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_OUTPUT = 4096            # cases inside the bounds run only when this small
needs_compiled = pytest.mark.skipif(_kernels.compiled is None, reason="compiled kernels not built")
# MINIGRAD_FUZZ_EXAMPLES=50 runs a longer fuzz (each example is one child process)
SETTINGS = settings(max_examples=int(os.environ.get("MINIGRAD_FUZZ_EXAMPLES", 4)), deadline=None, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))

CHILD = r'''
import json, sys
import numpy as np
import minigrad as mg
from minigrad import _kernels, ops, layers
from minigrad.ops.convolution import use_kernels

compiled = _kernels.compiled


def ref_forward(x, k, s, d, pads):
    """y[n, o, c*M+m] = sum_j k[j, c, m] * x[n, o*s + j*d - before, c] (0 outside x)."""
    r = k.ndim - 2
    N, spatial, (C, M) = x.shape[0], x.shape[1:1 + r], k.shape[r:]
    out = [(L + b + a - dd * (kk - 1) - 1) // ss + 1
           for L, kk, ss, dd, (b, a) in zip(spatial, k.shape[:r], s, d, pads)]
    y = np.zeros((N, *out, C, M))
    for o in np.ndindex(*out):
        for j in np.ndindex(*k.shape[:r]):
            idx = tuple(oi * si + ji * di - b for oi, si, ji, di, (b, _) in zip(o, s, j, d, pads))
            if all(0 <= i < L for i, L in zip(idx, spatial)):
                y[(slice(None),) + o] += x[(slice(None),) + idx][..., None] * k[j]
    return y.reshape(N, *out, C * M)


def ref_backward(x, k, g, s, d, pads):
    r = k.ndim - 2
    N, spatial, (C, M) = x.shape[0], x.shape[1:1 + r], k.shape[r:]
    out = g.shape[1:1 + r]
    g = g.reshape(N, *out, C, M)
    gx, gk = np.zeros(x.shape), np.zeros(k.shape)
    for o in np.ndindex(*out):
        for j in np.ndindex(*k.shape[:r]):
            idx = tuple(oi * si + ji * di - b for oi, si, ji, di, (b, _) in zip(o, s, j, d, pads))
            if all(0 <= i < L for i, L in zip(idx, spatial)):
                go = g[(slice(None),) + o]                              # (N, C, M)
                gx[(slice(None),) + idx] += (go * k[j]).sum(-1)
                gk[j] += (x[(slice(None),) + idx][..., None] * go).sum(0)
    return gx, gk


def ref_pool(x, k, s, pads, mode):
    r = len(k)
    N, spatial, C = x.shape[0], x.shape[1:1 + r], x.shape[-1]
    out = [(L + b + a - kk) // ss + 1 for L, kk, ss, (b, a) in zip(spatial, k, s, pads)]
    y = np.zeros((N, *out, C))
    for o in np.ndindex(*out):
        vals = []
        for j in np.ndindex(*k):
            idx = tuple(oi * si + ji - b for oi, si, ji, (b, _) in zip(o, s, j, pads))
            if all(0 <= i < L for i, L in zip(idx, spatial)):
                vals.append(x[(slice(None),) + idx])
        y[(slice(None),) + o] = np.max(vals, 0) if mode == "max" else np.mean(vals, 0)
    return y


def same_pads(L, k, s, d, mode):
    ek = d * (k - 1) + 1
    if mode == "valid":
        return (0, 0)
    if mode == "causal":
        return (ek - 1, 0)
    out = -(-L // s)
    total = max((out - 1) * s + ek - L, 0)
    return (total // 2, total - total // 2)


def close(a, b, tol):
    a = np.asarray(a, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


def attempt(fn):
    try:
        return "ok", fn()
    except Exception as e:                                   # reported, judged by the parent
        return type(e).__name__, str(e)


def run_kernel_case(c, rng):
    r, dtype = len(c["ks"]), np.dtype(c["dtype"])
    tol = 1e-9 if dtype == np.float64 else 2e-4
    x = rng.uniform(-1, 1, (c["N"], *c["spatial"], c["C"])).astype(dtype)
    k = rng.uniform(-1, 1, (*c["ks"], c["C"], c["M"])).astype(dtype)
    s, d, pads = tuple(c["strides"]), tuple(c["dilation"]), tuple(map(tuple, c["pads"]))
    res = {}
    if (c["raw_valid"] or c["op_valid"]) and not c["small"]:
        return {"skipped": True}                      # a legitimately huge output
    if compiled is None and c["op_valid"] and not c["padded_small"]:
        return {"skipped": True}                      # the twins would materialise the padding
    if compiled is not None and c["padding"] is None:
        kind, y = attempt(lambda: compiled.depthwise_forward(x, k, s, d, pads))
        res["raw_forward"] = [kind, y if kind != "ok" else None]
        if kind == "ok":
            ref = ref_forward(x.astype(float), k.astype(float), s, d, pads)
            res["raw_forward_matches"] = close(y, ref, tol)
            g = rng.uniform(-1, 1, y.shape).astype(dtype)
            gx_ref, gk_ref = ref_backward(x.astype(float), k.astype(float), g.astype(float),
                                          s, d, pads)
            kind, gx = attempt(lambda: compiled.depthwise_backward_input(g, k, x.shape, s, d, pads))
            res["raw_backward_input_matches"] = kind == "ok" and close(gx, gx_ref, tol)
            kind, gk = attempt(lambda: compiled.depthwise_backward_kernel(x, g, k.shape, s, d, pads))
            res["raw_backward_kernel_matches"] = kind == "ok" and close(gk, gk_ref, tol)
        else:
            # the backward kernels must refuse the same geometry (with a made-up grad_y)
            g = np.ones((c["N"],) + (1,) * r + (c["C"] * c["M"],), dtype)
            kind, msg = attempt(lambda: compiled.depthwise_backward_input(g, k, x.shape, s, d, pads))
            res["raw_backward_input"] = [kind, msg if kind != "ok" else None]
            kind, msg = attempt(lambda: compiled.depthwise_backward_kernel(x, g, k.shape, s, d, pads))
            res["raw_backward_kernel"] = [kind, msg if kind != "ok" else None]
    padding = c["padding"] if c["padding"] is not None else pads
    with use_kernels("numpy" if compiled is None else "cython"):     # whatever MINIGRAD_KERNELS
        kind, y = attempt(lambda: ops.depthwise_conv(x, k, strides=c["strides_arg"],
                                                     padding=padding,
                                                     dilation_rate=c["dilation_arg"]))
    res["op"] = [kind, y if kind != "ok" else None]
    if kind == "ok":
        p = pads if c["padding"] is None else tuple(
            same_pads(L, kk, ss, dd, c["padding"])
            for L, kk, ss, dd in zip(c["spatial"], c["ks"], s, d))
        ref = ref_forward(x.astype(float), k.astype(float), s, d, p)
        res["op_matches"] = close(y.numpy(), ref, tol)
        if c["padded_small"]:          # the twins and ops.conv materialise the padded input
            with use_kernels("numpy"):
                res["op_twin_matches"] = close(ops.depthwise_conv(
                    x, k, strides=c["strides_arg"], padding=padding,
                    dilation_rate=c["dilation_arg"]).numpy(), ref, tol)
            ref_sum = ref.reshape(ref.shape[:-1] + (c["C"], c["M"])).sum(-1).sum(-1)
            kc = np.ascontiguousarray(k.sum(-1, keepdims=True))
            kind, yc = attempt(lambda: ops.conv(x, kc, strides=c["strides_arg"],
                                                padding=padding, dilation_rate=c["dilation_arg"]))
            # a full conv whose kernel is k summed over m, with one filter: the sum of all
            # depthwise outputs over c and m
            res["conv_matches"] = kind == "ok" and close(yc.numpy()[..., 0], ref_sum, tol)
    return res


def run_layer_case(c, rng):
    cls = getattr(layers, c["layer"])
    kind, layer = attempt(lambda: cls(**c["kwargs"]))
    res = {"construct": [kind, layer if kind != "ok" else None]}
    if kind != "ok" or c["valid"] == "big":
        return res
    x = rng.uniform(-1, 1, (c["N"], *c["spatial"], c["C"]))
    kind, y = attempt(lambda: layer(x))
    res["call"] = [kind, y if kind != "ok" else None]
    if kind != "ok":
        return res
    y = y.numpy()
    r = len(c["spatial"])
    if "Pooling" in c["layer"]:
        k, s = layer.pool_size, layer.strides
        p = [same_pads(L, kk, ss, 1, layer.padding) for L, kk, ss in zip(c["spatial"], k, s)]
        ref = ref_pool(x, k, s, p, "max" if "Max" in c["layer"] else "average")
    else:
        k = (layer.depthwise_kernel if hasattr(layer, "depthwise_kernel") else layer.kernel).numpy()
        s, d = layer.strides, layer.dilation_rate
        p = [same_pads(L, kk, ss, dd, layer.padding)
             for L, kk, ss, dd in zip(c["spatial"], k.shape[:r], s, d)]
        if c["layer"].startswith("Conv"):
            # full conv = depthwise with M = filters on each channel, summed over channels
            F = k.shape[-1]
            ref = sum(ref_forward(x[..., ci:ci + 1], k[..., ci:ci + 1, :], s, d, p)
                      for ci in range(c["C"]))
        else:
            ref = ref_forward(x, k, s, d, p)
            if c["layer"].startswith("Separable"):
                ref = ref @ layer.pointwise_kernel.numpy().reshape(-1, layer.filters)
        if layer.bias is not None:
            ref = ref + layer.bias.numpy()
    res["call_matches"] = close(y, ref, 1e-9)
    with use_kernels("numpy"):
        res["twin_matches"] = close(layer(x).numpy(), ref, 1e-9)
    # gradients of sum(y * G) for the input and every weight: the compiled kernels against
    # the twins, and for a depthwise layer also against the exact reference
    G = rng.uniform(-1, 1, y.shape)
    grads = {}
    for backend in ("cython", "numpy") if compiled is not None else ("numpy",):
        with use_kernels(backend):
            xt = mg.Tensor(x)
            with mg.GradientTape() as tape:
                tape.watch(xt)
                loss = (layer(xt) * G).sum()
            grads[backend] = [np.asarray(g) for g in
                              tape.gradient(loss, [xt] + list(layer.trainable_weights))]
    res["grads_agree"] = all(np.allclose(a, b, rtol=1e-9, atol=1e-9)
                             for a, b in zip(grads["numpy"], grads.get("cython", grads["numpy"])))
    if c["layer"].startswith("Depthwise"):
        gx, gk = ref_backward(x, k, G, s, d, p)
        res["grads_match_reference"] = close(grads["numpy"][0], gx, 1e-9) and \
            close(grads["numpy"][1], gk, 1e-9)
    return res


for line in sys.stdin:
    case = json.loads(line)
    rng = np.random.default_rng(case["seed"])
    print(json.dumps({"id": case["id"], "started": True}), flush=True)
    result = run_kernel_case(case, rng) if case["type"] == "kernel" else run_layer_case(case, rng)
    print(json.dumps({"id": case["id"], "result": result}), flush=True)
'''

# ----------------------------------------------------------------------------------------
# Strategies: integers over the whole range, with the interesting edges drawn often
# ----------------------------------------------------------------------------------------

EDGES = [0, 1, 2, 3, MAX_GEOMETRY - 1, MAX_GEOMETRY, MAX_GEOMETRY + 1, 2**32, 2**61, 2**62,
         2**63 - 9, 2**63 - 1, 2**63, 2**64, 2**64 + 1, -1, -(2**63), -(2**64)]
any_int = st.one_of(st.integers(0, 4), st.sampled_from(EDGES),
                    st.integers(-(2**70), 2**70), st.integers(MAX_GEOMETRY - 8, MAX_GEOMETRY + 8))


def in_bounds(values, minimum):
    return all(minimum <= v <= MAX_GEOMETRY for v in values)


@st.composite
def kernel_cases(draw):
    r = draw(st.integers(1, 2))
    ks = [draw(st.integers(1, 3)) for _ in range(r)]
    spatial = [draw(st.integers(1, 6)) for _ in range(r)]
    strides = [draw(any_int) for _ in range(r)]
    dilation = [draw(any_int) for _ in range(r)]
    pads = [[draw(any_int), draw(any_int)] for _ in range(r)]
    padding = draw(st.sampled_from([None, None, None, "valid", "same"] + (["causal"] if r == 1 else [])))
    geometry_ok = in_bounds(strides, 1) and in_bounds(dilation, 1)
    if padding is None:
        geometry_ok = geometry_ok and in_bounds([v for p in pads for v in p], 0)
        out = [(L + b + a - d * (k - 1) - 1) // s + 1 if geometry_ok else 0
               for L, k, s, d, (b, a) in zip(spatial, ks, strides, dilation, pads)]
        padded = [L + b + a for L, (b, a) in zip(spatial, pads)]
    elif not geometry_ok:
        out, padded = [0] * r, [1] * r
    else:
        out, padded = [], []
        for L, k, s, d in zip(spatial, ks, strides, dilation):
            ek = d * (k - 1) + 1
            out.append((L - ek) // s + 1 if padding == "valid" else -(-L // s))
            padded.append(L + (0 if padding == "valid" else ek))
    raw_valid = geometry_ok and min(out) >= 1
    # the ops also bound the dilated kernel span (its "same"/"causal" pads are made from it)
    op_valid = raw_valid and all(d * (k - 1) + 1 <= MAX_GEOMETRY for k, d in zip(ks, dilation))
    N, C, M = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    size = N * C * M
    for o in out:
        size *= max(o, 1)
    padded_size = N * C
    for p in padded:
        padded_size *= p
    return dict(type="kernel", ks=ks, spatial=spatial, strides=strides, dilation=dilation,
                pads=pads, padding=padding, N=N, C=C, M=M,
                strides_arg=draw(st.sampled_from([strides, strides[0] if r == 1 else strides])),
                dilation_arg=dilation, dtype=draw(st.sampled_from(["float32", "float64"])),
                raw_valid=raw_valid, op_valid=op_valid, small=size <= SMALL_OUTPUT,
                padded_small=op_valid and padded_size <= SMALL_OUTPUT,
                seed=draw(st.integers(0, 2**32 - 1)))


LAYERS = {1: ["DepthwiseConv1D", "SeparableConv1D", "Conv1D", "MaxPooling1D", "AveragePooling1D"],
          2: ["DepthwiseConv2D", "SeparableConv2D", "Conv2D", "MaxPooling2D", "AveragePooling2D"]}


@st.composite
def layer_cases(draw):
    r = draw(st.integers(1, 2))
    name = draw(st.sampled_from(LAYERS[r]))
    one = st.one_of(st.integers(1, 3), any_int)
    values = {a: draw(st.one_of(one, st.lists(one, min_size=r, max_size=r)))
              for a in ("size", "strides", "dilation_rate")}
    spatial = [draw(st.integers(1, 5)) for _ in range(r)]
    padding = draw(st.sampled_from(["valid", "same"] + (["causal"] if r == 1 and "Pool" not in name
                                                       else [])))
    size_name = "pool_size" if "Pool" in name else "kernel_size"
    kwargs = {size_name: values["size"], "strides": values["strides"], "padding": padding}
    kwargs["dtype"] = "float64"
    if "Pool" not in name:
        kwargs["dilation_rate"] = values["dilation_rate"]
        if not name.startswith("Depthwise"):
            kwargs["filters"] = 2
    as_tuple = {a: tuple(v) if isinstance(v, list) else (v,) * r for a, v in values.items()}
    valid = all(in_bounds(as_tuple[a], 1) for a in as_tuple if a != "dilation_rate" or "Pool" not in name)
    size = 1
    if valid:
        k, s = as_tuple["size"], as_tuple["strides"]
        d = (1,) * r if "Pool" in name else as_tuple["dilation_rate"]
        for L, kk, ss, dd in zip(spatial, k, s, d):
            ek = dd * (kk - 1) + 1
            size *= max((L - ek) // ss + 1 if padding == "valid" else -(-L // ss), 0)
        # the layers' own rule: no stride > 1 with dilation > 1; and the weights must be small
        if "Pool" not in name and max(s) > 1 and max(d) > 1:
            valid = None                        # a named ValueError either way
        elif any(dd * (kk - 1) + 1 > MAX_GEOMETRY for kk, dd in zip(k, d)):
            valid = False
        work = 1
        for kk, dd, L in zip(k, d, spatial):
            work *= kk * (L + dd * (kk - 1))       # weights, and the padded input
        if work > SMALL_OUTPUT and valid is True:
            valid = "big"
    return dict(type="layer", layer=name, kwargs=kwargs, spatial=spatial, N=draw(st.integers(1, 2)),
                C=draw(st.integers(1, 2)), valid=valid, out_size=size,
                seed=draw(st.integers(0, 2**32 - 1)))


# ----------------------------------------------------------------------------------------
# Running a batch in a child, and judging it
# ----------------------------------------------------------------------------------------

def run_child(cases):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    lines = "".join(json.dumps(dict(c, id=i)) + "\n" for i, c in enumerate(cases))
    proc = subprocess.run([sys.executable, "-c", CHILD], input=lines, capture_output=True,
                          text=True, env=env, timeout=300)
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    done = {rec["id"]: rec["result"] for rec in records if "result" in rec}
    if proc.returncode != 0:
        started = [rec["id"] for rec in records if rec.get("started") and rec["id"] not in done]
        case = cases[started[0]] if started else None
        pytest.fail(f"the child process died (return code {proc.returncode}) on case {case}\n"
                    f"{proc.stderr[-3000:]}")
    assert len(done) == len(cases), proc.stderr[-3000:]
    return [done[i] for i in range(len(cases))]


def bad_arguments(case, op_names):
    """The argument names a rejection may cite: the out-of-bounds ones, else the output."""
    names = []
    if not in_bounds(case["strides"], 1):
        names.append("`" + op_names[0])
    if not in_bounds(case["dilation"], 1):
        names.append("`" + op_names[1])
    if case["padding"] is None and not in_bounds([v for p in case["pads"] for v in p], 0):
        names.append("`" + op_names[2])
    return names or ["output size", "Computed output size"]


def judge_rejection(outcome, names, where, case):
    kind, message = outcome
    assert kind == "ValueError", f"{where}: expected a ValueError, got {kind}: {message} ({case})"
    assert any(n in message for n in names), f"{where}: {message!r} names none of {names} ({case})"


def judge_kernel_case(case, res):
    if res.get("skipped"):
        assert ((case["raw_valid"] or case["op_valid"]) and not case["small"]) or \
            (_kernels.compiled is None and not case["padded_small"])
        FUZZ_COUNT["skipped"] += 1
        return
    if "raw_forward" in res:
        if case["raw_valid"]:
            assert res["raw_forward"][0] == "ok", (res, case)
            assert res["raw_forward_matches"] and res["raw_backward_input_matches"] and \
                res["raw_backward_kernel_matches"], (res, case)
        else:
            # outside the bounds (or an empty output): every kernel refuses, naming why
            names = bad_arguments(case, ("strides", "dilation", "pads"))
            for where in ("raw_forward", "raw_backward_input", "raw_backward_kernel"):
                judge_rejection(res[where], names, where, case)
    if case["op_valid"]:
        assert res["op"][0] == "ok", (res, case)
        assert res["op_matches"], (res, case)
        if case["padded_small"]:
            assert res["op_twin_matches"] and res["conv_matches"], (res, case)
    else:
        names = bad_arguments(case, ("strides", "dilation_rate", "padding"))
        judge_rejection(res["op"], names + ["Computed output size", "dilated kernel spans"], "op",
                        case)


def judge_layer_case(case, res):
    kind = res["construct"][0]
    args = case["kwargs"]
    if case["valid"] is False:
        assert kind == "ValueError", (res, case)
        # the message names an argument that is out of bounds (or the dilated span)
        rank = len(case["spatial"])
        bad = [a for a in ("kernel_size", "pool_size", "strides", "dilation_rate") if a in args
               and not in_bounds(args[a] if isinstance(args[a], list) else [args[a]] * rank, 1)]
        names = [f"`{a}`" for a in bad] or ["dilated kernel spans"]
        assert any(n in res["construct"][1] for n in names), (names, res, case)
        return
    if case["valid"] is None:
        assert kind == "ValueError" and "not supported in conjunction" in res["construct"][1], \
            (res, case)
        return
    assert kind == "ok", (res, case)
    if case["valid"] == "big":
        return
    if case["out_size"] <= 0:
        assert res["call"][0] == "ValueError", (res, case)
        assert "output" in res["call"][1] or "larger than the input" in res["call"][1], (res, case)
        return
    assert res["call"][0] == "ok", (res, case)
    assert res["call_matches"] and res["twin_matches"] and res["grads_agree"], (res, case)
    assert res.get("grads_match_reference", True), (res, case)


# ----------------------------------------------------------------------------------------
# The reproducers of issue 9, each in a child
# ----------------------------------------------------------------------------------------

def test_issue_reproducers_raise_instead_of_writing_out_of_bounds():
    cases = [
        # mg.ops.depthwise_conv(x, k, strides=2**61, padding=((2**63 - 9, 1),), dilation_rate=2)
        dict(type="kernel", ks=[5], spatial=[9], strides=[2**61], dilation=[2], pads=[[2**63 - 9, 1]],
             padding=None, N=2, C=1, M=2, strides_arg=2**61, dilation_arg=[2], dtype="float32",
             raw_valid=False, op_valid=False, small=True, padded_small=False, seed=0),
        dict(type="kernel", ks=[3], spatial=[5], strides=[2**63 - 1], dilation=[1], pads=[[0, 0]],
             padding="valid", N=1, C=2, M=2, strides_arg=2**63 - 1, dilation_arg=[1],
             dtype="float64", raw_valid=False, op_valid=False, small=True, padded_small=False,
             seed=1),
        dict(type="kernel", ks=[2, 2], spatial=[3, 3], strides=[1, 2**64], dilation=[1, 1],
             pads=[[0, 0], [0, 0]], padding=None, N=1, C=1, M=1, strides_arg=[1, 2**64],
             dilation_arg=[1, 1], dtype="float64", raw_valid=False, op_valid=False, small=True,
             padded_small=False, seed=2),
        # the largest accepted values: the index arithmetic must still be exact
        dict(type="kernel", ks=[2], spatial=[9], strides=[MAX_GEOMETRY], dilation=[3],
             pads=[[MAX_GEOMETRY, MAX_GEOMETRY]], padding=None, N=2, C=2, M=2,
             strides_arg=MAX_GEOMETRY, dilation_arg=[3], dtype="float64", raw_valid=True,
             op_valid=True, small=True, padded_small=False, seed=3),
        # DepthwiseConv1D(3, strides=2**63 - 1, depth_multiplier=2) returned zeros
        dict(type="layer", layer="DepthwiseConv1D",
             kwargs=dict(kernel_size=3, strides=2**63 - 1, depth_multiplier=2, dtype="float64"),
             spatial=[5], N=1, C=2, valid=False, out_size=1, seed=4),
        dict(type="layer", layer="DepthwiseConv1D",
             kwargs=dict(kernel_size=3, strides=MAX_GEOMETRY, depth_multiplier=2, dtype="float64"),
             spatial=[5], N=1, C=2, valid=True, out_size=1, seed=5),
    ]
    results = run_child(cases)
    for case, res in zip(cases, results):
        (judge_kernel_case if case["type"] == "kernel" else judge_layer_case)(case, res)
    assert "strides" in results[0]["op"][1] and "2305843009213693952" in results[0]["op"][1]
    assert results[3]["raw_forward"][0] == "ok" if _kernels.compiled else True
    assert "strides" in results[4]["construct"][1]


FUZZ_COUNT = {"kernel": 0, "layer": 0, "skipped": 0}


@needs_compiled
@SETTINGS
@given(st.lists(kernel_cases(), min_size=60, max_size=60))
def test_fuzz_kernels_and_ops_over_the_full_integer_range(cases):
    for case, res in zip(cases, run_child(cases)):
        judge_kernel_case(case, res)
    FUZZ_COUNT["kernel"] += len(cases)
    print("fuzz cases so far:", FUZZ_COUNT)          # shown with pytest -s


@SETTINGS
@given(st.lists(layer_cases(), min_size=40, max_size=40))
def test_fuzz_layers_over_the_full_integer_range(cases):
    for case, res in zip(cases, run_child(cases)):
        judge_layer_case(case, res)
    FUZZ_COUNT["layer"] += len(cases)
    print("fuzz cases so far:", FUZZ_COUNT)


def test_compiled_wrapper_bound_is_the_geometry_bound():
    if _kernels.compiled is None:
        pytest.skip("compiled kernels not built")
    from minigrad._kernels import depthwise
    assert depthwise.MAX_GEOMETRY == MAX_GEOMETRY


# ----------------------------------------------------------------------------------------
# The other items of issue 9: broken layers, silent edge semantics, unclear messages
# ----------------------------------------------------------------------------------------

import numpy as np                                     # noqa: E402

import minigrad as mg                                  # noqa: E402
from minigrad import layers                            # noqa: E402


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.DepthwiseConv1D(3), (1, 5, 0)),
    (lambda: layers.SeparableConv1D(2, 3), (1, 5, 0)),
    (lambda: layers.Conv1D(2, 3), (1, 5, 0)),
    (lambda: layers.DepthwiseConv2D(2), (1, 4, 4, 0)),
    (lambda: layers.SeparableConv2D(2, 2, data_format="channels_first"), (1, 0, 4, 4)),
    (lambda: layers.Conv2D(2, 2), (1, 4, 4, 0)),
    (lambda: layers.Dense(2), (3, 0)),
    (lambda: layers.BatchNormalization(), (3, 0)),
    (lambda: layers.LayerNormalization(), (3, 0)),
])
def test_zero_channels_rejected_before_building(make, shape):
    layer = make()
    with pytest.raises(ValueError, match=r"channel|positive size"):
        layer(np.zeros(shape, np.float32))
    assert not layer.built and layer.weights == []
    good = tuple(3 if n == 0 else n for n in shape)
    assert layer(np.ones(good, np.float32)).shape[0] == shape[0]     # usable afterwards


def test_sequential_first_call_failing_in_a_later_layer_builds_nothing():
    first = layers.DepthwiseConv1D(3)
    model = mg.Sequential([first, layers.MaxPooling1D(10)])
    with pytest.raises(ValueError, match="pool_size"):
        model(np.ones((1, 5, 2), np.float32))
    assert not first.built and first.weights == [] and not model.built
    # a valid input with another channel count is accepted afterwards
    assert model(np.ones((1, 30, 3), np.float32)).shape == (1, 2, 3)
    assert first.depthwise_kernel.shape == (3, 3, 1)


def test_sequential_all_or_nothing_reaches_nested_layers():
    inner_first = layers.Dense(4)
    inner = mg.Sequential([inner_first, layers.Dense(3)])
    model = mg.Sequential([inner, layers.Reshape((5,))])        # 3 values cannot become 5
    with pytest.raises(ValueError):
        model(np.ones((2, 7), np.float32))
    assert not inner.built and not inner_first.built and inner_first.weights == []
    model2 = mg.Sequential([inner, layers.Reshape((3,))])
    assert model2(np.ones((2, 6), np.float32)).shape == (2, 3)
    assert inner_first.kernel.shape == (6, 4)


@pytest.mark.parametrize("training", ["no", 0, 1, "False", [True]])
def test_training_must_be_a_bool(training):
    layer = layers.Dropout(0.5)
    with pytest.raises(ValueError, match="`training` must be True, False or None"):
        layer(np.ones((2, 3), np.float32), training=training)
    x = np.ones((2, 3), np.float32)
    assert np.array_equal(layer(x, training=False).numpy(), x)
    assert np.array_equal(layer(x, training=np.bool_(False)).numpy(), x)
    assert np.array_equal(layer(x, training=None).numpy(), x)


def _compiled_model():
    model = mg.Sequential([layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_fit_shuffle_must_be_a_bool():
    model = _compiled_model()
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    for shuffle in ("batch", 1, None):
        with pytest.raises(ValueError, match="`shuffle` must be a boolean"):
            model.fit(x, y, shuffle=shuffle, verbose=0)
    assert not model.built or model.optimizer.iterations == 0   # nothing ran


def test_fit_accepts_one_callback_and_names_bad_ones():
    model = _compiled_model()
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    history = mg.callbacks.History()
    model.fit(x, y, epochs=2, callbacks=history, verbose=0)
    assert history.epoch == [0, 1]
    with pytest.raises(TypeError, match="callbacks"):
        model.fit(x, y, callbacks=42, verbose=0)


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "nope", "U3", object, "datetime64"])
def test_cast_refuses_what_tensors_do_not_hold(dtype):
    with pytest.raises(TypeError, match=r"cast: `dtype` must be a bool, integer or real floating"):
        mg.ops.cast(np.ones(3, np.float32), dtype)


def test_cast_keeps_what_tensors_hold():
    for dtype in ("float16", "float32", "float64", "int32", "int64", "uint8", "bool"):
        assert mg.ops.cast(np.ones(3, np.float32), dtype).dtype == np.dtype(dtype)


def test_pad_width_messages():
    x = np.ones((2, 5, 3), np.float32)
    with pytest.raises(ValueError, match="pad_width"):
        mg.ops.pad(x, ((0, 0), (1.5, 0), (0, 0)))          # used to pad by 1 silently
    with pytest.raises(ValueError, match=r"pad_width.*shape \(2, 1099511627781, 3\).*bytes"):
        mg.ops.pad(x, ((0, 0), (2**40, 0), (0, 0)))
    with pytest.raises(ValueError, match=r"pad_width.*too large"):
        mg.ops.pad(x, ((0, 0), (2**62, 0), (0, 0)))        # "array is too big" from NumPy
    with pytest.raises(ValueError, match="pad_width"):
        mg.ops.pad(x, ((0, 0), (2**64, 0), (0, 0)))


def test_huge_weight_names_the_weight_and_its_size():
    for units in (2**40, 2**63):          # MemoryError / "Maximum allowed dimension exceeded"
        with pytest.raises(ValueError, match=r"weight 'kernel' of shape \(2, \d+\) \(\d+ bytes\)"):
            layers.Dense(units)(np.ones((1, 2), np.float32))


def test_conv_op_arguments_that_are_not_arrays_are_named():
    x = np.ones((2, 5, 3), np.float32)
    with pytest.raises(TypeError, match="separable_conv: `bias`.*bias='a'"):
        mg.ops.separable_conv(x, np.ones((3, 3, 1), np.float32), np.ones((1, 3, 2), np.float32),
                              bias="a")
    with pytest.raises(TypeError, match="depthwise_conv: `kernel`"):
        mg.ops.depthwise_conv(x, "k")


def test_ragged_input_is_named():
    with pytest.raises(TypeError, match=r"Layer 'ragged'"):
        layers.Dense(2, name="ragged")([[1.0, 2.0], [3.0]])
    model = _compiled_model()
    for call in (lambda: model.predict([[1.0, 2.0], [3.0]]),
                 lambda: model.fit([[1.0, 2.0], [3.0]], [[1.0], [2.0]], verbose=0)):
        with pytest.raises(TypeError, match=r"`x` must be array-like.*inhomogeneous"):
            call()


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_conv_ops_name_the_geometry_when_memory_runs_out(backend):
    """Pads at the bound on a wide input ask for ~2**47 bytes: a ValueError naming padding."""
    from minigrad.ops.convolution import use_kernels
    if backend == "cython" and _kernels.compiled is None:
        pytest.skip("compiled kernels not built")
    x = np.ones((64, 3, 64))
    pads = ((MAX_GEOMETRY, MAX_GEOMETRY),)
    with use_kernels(backend):
        for call in (lambda: mg.ops.depthwise_conv(x, np.ones((1, 64, 1)), padding=pads),
                     lambda: mg.ops.separable_conv(x, np.ones((1, 64, 1)), np.ones((1, 64, 2)),
                                                   padding=pads),
                     lambda: mg.ops.conv(x, np.ones((2, 64, 2)), padding=pads)):
            with pytest.raises(ValueError, match=r"do not fit in memory.*`padding`="):
                call()


@pytest.mark.parametrize("make, argument", [
    (lambda: layers.UpSampling1D(2**40), "size"), (lambda: layers.UpSampling1D(2**64), "size"),
    (lambda: layers.UpSampling2D((2**40, 1)), "size"),
    (lambda: layers.ZeroPadding1D(2**40), "padding"),
    (lambda: layers.ZeroPadding1D(2**63), "padding"),
])
def test_huge_padding_and_upsampling_name_the_argument_and_size(make, argument):
    layer = make()
    x = np.ones((1, 2, 2, 1) if "2D" in type(layer).__name__ else (1, 2, 1), np.float32)
    with pytest.raises(ValueError, match=rf"`{argument}`=.*output of shape .* bytes"):
        layer(x)


SIZE_ARGUMENTS = [("Dense", "units", {}, (2, 3)),
                  ("DepthwiseConv1D", "depth_multiplier", {"kernel_size": 2}, (1, 4, 2)),
                  ("SeparableConv1D", "filters", {"kernel_size": 2}, (1, 4, 2)),
                  ("Conv2D", "filters", {"kernel_size": 2}, (1, 3, 3, 2))]


@settings(max_examples=60, deadline=None)
@given(which=st.sampled_from(SIZE_ARGUMENTS),
       value=st.one_of(st.integers(-(2**70), 0), st.integers(1, 8), st.integers(2**45, 2**70)))
def test_fuzz_size_arguments_over_the_full_integer_range(which, value):
    """Sizes that make weights: refused at construction (<= 0), working (small), or a
    ValueError naming the weight and its size in bytes (more than any machine holds). The
    band in between is a real, large allocation and is not drawn."""
    name, argument, kwargs, shape = which
    make = lambda: getattr(layers, name)(**kwargs, **{argument: value})     # noqa: E731
    if value <= 0:
        with pytest.raises(ValueError, match=argument):
            make()
        return
    layer = make()
    if value <= 8:
        assert layer(np.ones(shape, np.float32)).shape[0] == shape[0]
        return
    with pytest.raises(ValueError, match=r"weight '\w+' of shape .* \(\d+ bytes\) is too large"):
        layer(np.ones(shape, np.float32))
    assert not layer.built and layer.weights == []
