"""Weights files: exact round trip, checked loading, atomic writing, bad files."""
import json
import os
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad import layers, saving
from minigrad.models import Sequential


@pytest.fixture(autouse=True)
def _fresh():
    mg.clear_session()
    mg.set_random_seed(0)


def model(filters=4, name=None):
    return Sequential([layers.SeparableConv2D(filters, 3, input_shape=(8, 8, 1)),
                       layers.BatchNormalization(), layers.Flatten(), layers.Dense(3)],
                      name=name)


def assert_same(a_list, b_list):
    assert len(a_list) == len(b_list)
    for a, b in zip(a_list, b_list):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_round_trip_is_exact_into_a_fresh_model(tmp_path):
    source = model()
    source.set_weights([np.abs(np.random.default_rng(i).normal(size=w.shape)).astype(w.dtype)
                        for i, w in enumerate(source.weights)])
    path = str(tmp_path / "w.npz")
    assert source.save_weights(path) == path
    target = model()                           # other default names (separable_conv2d_1...)
    assert target.layers[0].name != source.layers[0].name
    target.load_weights(path)
    assert_same(target.get_weights(), source.get_weights())
    x = np.random.default_rng(0).random((2, 8, 8, 1)).astype("float32")
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())


def test_file_is_plain_npz_keyed_by_paths_with_order(tmp_path):
    m = model()
    path = tmp_path / "w.npz"
    m.save_weights(path)
    with np.load(path) as archive:
        keys = set(archive.files)
        header = json.loads(str(archive[saving.HEADER_KEY]))
        np.testing.assert_array_equal(archive["dense/kernel"], m.layers[-1].kernel.numpy())
    paths = [w.path for w in m.weights]
    assert keys == set(paths) | {saving.HEADER_KEY}
    assert [e["path"] for e in header["weights"]] == paths
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_by_name_matches_full_paths(tmp_path):
    m = model()
    m.save_weights(tmp_path / "w.npz")
    values = m.get_weights()
    m.set_weights([v * 0 for v in values])
    m.load_weights(tmp_path / "w.npz", by_name=True)
    assert_same(m.get_weights(), values)
    with pytest.raises(ValueError, match="no weights for"):
        model().load_weights(tmp_path / "w.npz", by_name=True)


@pytest.mark.parametrize("other", [
    lambda: model(filters=5),                                               # shapes differ
    lambda: Sequential([layers.Dense(3, input_shape=(4,))]),                # count differs
    lambda: Sequential([layers.SeparableConv2D(4, 3, input_shape=(8, 8, 1)),
                        layers.Flatten(), layers.Dense(3), layers.Dense(3), layers.Dense(3)]),
])
def test_mismatched_model_raises_and_is_untouched(tmp_path, other):
    model().save_weights(tmp_path / "w.npz")
    target = other()
    before = target.get_weights()
    with pytest.raises(ValueError, match="does not fit"):
        target.load_weights(tmp_path / "w.npz")
    assert_same(target.get_weights(), before)


def test_same_shapes_other_variable_names_rejected(tmp_path):
    # DepthwiseConv1D weights (depthwise_kernel, bias) vs Conv1D (kernel, bias).
    a = Sequential([layers.DepthwiseConv1D(3, input_shape=(10, 1))])
    b = Sequential([layers.Conv1D(1, 3, input_shape=(10, 1))])
    assert [w.shape for w in a.weights] == [w.shape for w in b.weights]
    a.save_weights(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="depthwise_kernel"):
        b.load_weights(tmp_path / "a.npz")


def bad_files(tmp_path, good):
    data = open(good, "rb").read()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[:len(data) // 2])
    text = tmp_path / "text.npz"
    text.write_text("these are not weights\n")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(3), b=np.ones((2, 2)))
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    corrupt = tmp_path / "corrupt.npz"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(corrupt, "w") as zout:
        for item in zin.infolist():
            payload = zin.read(item.filename)
            if item.filename.startswith("dense"):
                payload = payload[:len(payload) - 8]        # array body too short
            zout.writestr(item, payload)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **{saving.HEADER_KEY: np.array([{"x": 1}], dtype=object)})
    return [truncated, text, empty, foreign, single, corrupt, pickled]


def test_bad_files_raise_value_error_and_leave_model_untouched(tmp_path):
    good = tmp_path / "good.npz"
    model().save_weights(good)
    target = model()
    before = target.get_weights()
    for bad in bad_files(tmp_path, good):
        with pytest.raises(ValueError, match="not a minigrad weights file|corrupt"):
            target.load_weights(bad)
        assert_same(target.get_weights(), before)
    with pytest.raises(FileNotFoundError):
        target.load_weights(tmp_path / "missing.npz")


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    m = model()
    path = tmp_path / "w.npz"
    m.save_weights(path)
    original = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    m.set_weights([w + 1 for w in m.get_weights()])
    with pytest.raises(OSError, match="disk full"):
        m.save_weights(path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["w.npz"]


def test_unbuilt_model_and_single_layers(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        Sequential([layers.Dense(2)]).save_weights(tmp_path / "x.npz")
    layer = layers.SeparableConv1D(3, 2)
    layer(np.ones((1, 5, 2), "float32"))
    saving.save_weights(layer, tmp_path / "layer.npz")
    twin = layers.SeparableConv1D(3, 2)
    twin(np.ones((1, 5, 2), "float32"))
    saving.load_weights(twin, tmp_path / "layer.npz")
    assert_same(twin.get_weights(), layer.get_weights())
    with pytest.raises(FileExistsError):
        Sequential([layers.Dense(2, input_shape=(3,))]).save_weights(
            tmp_path / "layer.npz", overwrite=False)


# -- hardening: crafted archives, permissions, temporary files -------------------------
def _npy_bytes(array_header_shape, dtype="<f4"):
    """A .npy header announcing ``array_header_shape`` (no data)."""
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": tuple(array_header_shape)})
    return buf.getvalue()


def _bomb(path, header_shapes, npy_shape, zero_bytes):
    """An .npz whose JSON header lists ``header_shapes`` for dense/kernel and dense/bias,
    and whose dense/kernel member is a .npy header for ``npy_shape`` followed by
    ``zero_bytes`` zeros, deflated (a few hundred kB on disk)."""
    entries = [{"path": p, "shape": list(s), "dtype": "float32"}
               for p, s in zip(["dense/kernel", "dense/bias"], header_shapes)]
    header = np.array(json.dumps({"format": "minigrad-weights", "version": 1,
                                  "weights": entries}))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("dense/kernel.npy", "w", force_zip64=True) as f:
            f.write(_npy_bytes(npy_shape))
            chunk = bytes(1 << 20)
            for _ in range(zero_bytes >> 20):
                f.write(chunk)
        with z.open("dense/bias.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros(header_shapes[1], "float32"))
        with z.open(saving.HEADER_KEY + ".npy", "w") as f:
            np.lib.format.write_array(f, header)


@pytest.mark.parametrize("header_says_model_shape", [False, True])
def test_crafted_large_archive_is_refused_before_decompressing(tmp_path,
                                                               header_says_model_shape):
    import tracemalloc
    target = Sequential([layers.Dense(3, input_shape=(4,))])
    big = 64 << 20                                     # 64 MiB of zeros, ~64 kB deflated
    shape = (big // 4,)
    path = tmp_path / "bomb.npz"
    _bomb(path, [(4, 3) if header_says_model_shape else shape, (3,)], shape, big)
    assert os.path.getsize(path) < big / 100
    before = target.get_weights()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"bomb\.npz") as info:
            target.load_weights(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, peak                       # far below the 64 MiB announced
    assert ("does not fit" in str(info.value)) != header_says_model_shape
    assert_same(target.get_weights(), before)


def _rewrite(good, path, edit):
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            name, payload = edit(item.filename, zin.read(item.filename))
            if name is not None:
                zout.writestr(name, payload)
    return path


def test_every_malformed_archive_is_a_value_error_naming_the_file(tmp_path):
    good = tmp_path / "good.npz"
    model().save_weights(good)
    key = saving.HEADER_KEY + ".npy"

    def header_to(text):
        import io
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.array(text))
        return lambda n, p: (n, buf.getvalue() if n == key else p)

    data = bytearray(good.read_bytes())
    at = data.find(b"NUMPY", data.find(b"dense/kernel")) + 200
    data[at] ^= 0xFF                                 # flip a stored byte: bad CRC
    crc = tmp_path / "crc.npz"
    crc.write_bytes(bytes(data))
    cases = [
        crc,
        _rewrite(good, tmp_path / "json.npz", header_to("{not json")),
        _rewrite(good, tmp_path / "entries.npz", header_to(json.dumps(
            {"format": "minigrad-weights", "weights": [{"path": 3}]}))),
        _rewrite(good, tmp_path / "format.npz", header_to(json.dumps([1, 2]))),
        _rewrite(good, tmp_path / "missing.npz",
                 lambda n, p: (None if n.startswith("dense/bias") else n, p)),
        _rewrite(good, tmp_path / "magic.npz",
                 lambda n, p: (n, b"JUNK" + p[4:] if n.startswith("dense/k") else p)),
        _rewrite(good, tmp_path / "v3.npz",
                 lambda n, p: (n, p[:6] + b"\x03" + p[7:] if n.startswith("dense/k") else p)),
        _rewrite(good, tmp_path / "object.npz", lambda n, p: (n, _npy_bytes((2,), "|O")
                                                             + bytes(16)
                                                             if n.startswith("dense/k")
                                                             else p)),
    ]
    target = model()
    before = target.get_weights()
    for bad in cases:
        with pytest.raises(ValueError) as info:
            target.load_weights(bad)
        message = str(info.value)
        assert repr(str(bad)) in message, message
        assert "allow_pickle" not in message and "pickle.load" not in message, message
        assert_same(target.get_weights(), before)


def test_pickled_header_never_passes_on_numpys_pickle_advice(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, **{saving.HEADER_KEY: np.array([{"x": 1}], dtype=object)})
    with pytest.raises(ValueError) as info:
        model().load_weights(path)
    assert "allow_pickle" not in str(info.value) and "pickle.load" not in str(info.value)
    assert "never unpickles" in str(info.value)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_get_the_usual_permission_bits(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = tmp_path / "w.npz"
        model().save_weights(path)
        assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
        os.chmod(path, 0o640)                        # an existing file keeps its mode
        model().save_weights(path)
        assert os.stat(path).st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_interrupted_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    import subprocess
    import sys
    m = model()
    path = tmp_path / "w.npz"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupt)
    with pytest.raises(KeyboardInterrupt):
        m.save_weights(path)
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    # A process killed mid-save cannot clean up: the next save removes what it left.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".w.npz.{dead}.abc123.minigrad-tmp"
    stale.write_bytes(b"half a file")
    alive = tmp_path / f".w.npz.{os.getppid()}.abc123.minigrad-tmp"   # a running writer's
    alive.write_bytes(b"in progress")
    other = tmp_path / f".other.npz.{dead}.x.minigrad-tmp"            # another target's
    other.write_bytes(b"")
    m.save_weights(path)
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, other.name, "w.npz"])
