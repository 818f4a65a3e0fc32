"""Tests for the bundled datasets (minigrad.datasets). No network needed."""
import hashlib
from importlib import resources

import numpy as np
import pytest

import minigrad.datasets as ds

DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


# ---------------------------------------------------------------- digits

def test_digits_raw():
    images, labels = ds.load_digits_raw()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 16
    assert np.bincount(labels).tolist() == DIGIT_COUNTS


def test_digits_split_shapes_dtypes_ranges():
    (x_tr, y_tr), (x_te, y_te) = ds.load_digits()
    assert x_tr.shape == (1438, 8, 8, 1) and x_te.shape == (359, 8, 8, 1)
    assert x_tr.dtype == x_te.dtype == np.float32
    assert y_tr.dtype == y_te.dtype == np.int64
    assert y_tr.shape == (1438,) and y_te.shape == (359,)
    for x in (x_tr, x_te):
        assert x.min() == 0.0 and x.max() == 1.0
    # Every digit in both sets, and together the original counts.
    assert (np.bincount(y_tr, minlength=10) > 0).all()
    assert (np.bincount(y_te, minlength=10) > 0).all()
    assert (np.bincount(y_tr) + np.bincount(y_te)).tolist() == DIGIT_COUNTS


def test_digits_split_is_stratified():
    (_, y_tr), (_, y_te) = ds.load_digits(test_fraction=0.3)
    share = np.bincount(y_te) / (np.bincount(y_tr) + np.bincount(y_te))
    assert np.allclose(share, 0.3, atol=0.01)


def test_digits_layout_and_dtype_options():
    (x_tr, _), (x_te, _) = ds.load_digits(dtype="float64", channels_last=False)
    assert x_tr.shape[1:] == (1, 8, 8) and x_te.dtype == np.float64
    (x_last, _), _ = ds.load_digits()
    assert np.array_equal(x_tr[..., 0, :, :].astype(np.float32), x_last[..., 0])


def test_digits_split_deterministic():
    a = ds.load_digits(seed=3)
    b = ds.load_digits(seed=3)
    c = ds.load_digits(seed=4)
    for (xa, ya), (xb, yb) in zip(a, b):
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not np.array_equal(a[0][1], c[0][1])


def _rows(x):
    """The set of images in x, each flattened to bytes (all 1797 images differ)."""
    return {row.tobytes() for row in x.reshape(len(x), -1)}


def test_digits_no_overlap_and_nothing_lost():
    (x_tr, y_tr), (x_te, y_te) = ds.load_digits(seed=1)
    images, labels = ds.load_digits_raw()
    scaled = (images / 16.0).astype(np.float32)
    everything = _rows(scaled)
    assert len(everything) == 1797
    assert not _rows(x_tr) & _rows(x_te)
    assert _rows(x_tr) | _rows(x_te) == everything
    # Each image still carries its own label after shuffling.
    label_of = {r.tobytes(): y for r, y in zip(scaled.reshape(1797, -1), labels)}
    for x, y in ((x_tr, y_tr), (x_te, y_te)):
        assert [label_of[r.tobytes()] for r in x.reshape(len(x), -1)] == y.tolist()


@pytest.mark.parametrize("bad", [0, 1, 0.0, 1.0, -0.1, 1.5, "0.2", None, True])
def test_digits_bad_fraction(bad):
    with pytest.raises(ValueError):
        ds.load_digits(test_fraction=bad)


def test_digits_bad_dtype():
    with pytest.raises(ValueError):
        ds.load_digits(dtype="int32")


# ---------------------------------------------------------------- time series

def test_co2_series():
    values, dates = ds.load_timeseries("co2")
    assert values.shape == dates.shape == (2284,)
    assert values.dtype == np.float64 and dates.dtype == np.dtype("datetime64[D]")
    assert dates[0] == np.datetime64("1958-03-29") and dates[-1] == np.datetime64("2001-12-29")
    assert (np.diff(dates) == np.timedelta64(7, "D")).all()
    assert not np.isnan(values).any()
    assert 310 < values.min() and values.max() < 380
    assert values[-52:].mean() > values[:52].mean() + 50  # CO2 rose by ~55 ppm


def test_co2_gaps_filled_by_interpolation():
    raw, _ = ds.load_timeseries("co2", fill_missing=False)
    filled, _ = ds.load_timeseries("co2")
    missing = np.isnan(raw)
    assert missing.sum() == 59
    assert np.array_equal(raw[~missing], filled[~missing])
    i = np.flatnonzero(missing)[0]               # a gap at step i ...
    lo, hi = i - 1, i + 1
    while np.isnan(raw[hi]):
        hi += 1                                  # ... between known steps lo and hi
    expected = raw[lo] + (raw[hi] - raw[lo]) * (i - lo) / (hi - lo)
    assert filled[i] == pytest.approx(expected)


def test_sunspots_series():
    values, years = ds.load_timeseries("sunspots")
    assert values.shape == years.shape == (309,)
    assert years.dtype == np.int64 and years[0] == 1700 and years[-1] == 2008
    assert (np.diff(years) == 1).all()
    assert values.min() >= 0 and values.max() == pytest.approx(190.2)


def test_unknown_series():
    with pytest.raises(ValueError, match="co2"):
        ds.load_timeseries("airline")


def test_make_windows_by_hand():
    x, y = ds.make_windows(np.array([10.0, 11, 12, 13, 14]), window=3)
    assert x.shape == (2, 3, 1) and y.shape == (2, 1)
    assert x[..., 0].tolist() == [[10, 11, 12], [11, 12, 13]]
    assert y[:, 0].tolist() == [13, 14]

    x, y = ds.make_windows(np.arange(6), window=2, horizon=3)
    assert x[..., 0].tolist() == [[0, 1], [1, 2]]
    assert y[:, 0].tolist() == [4, 5]
    assert x.dtype == y.dtype == np.arange(6).dtype

    x, y = ds.make_windows([1.0, 2.0], window=1)  # smallest possible case
    assert x.tolist() == [[[1.0]]] and y.tolist() == [[2.0]]


def test_make_windows_returns_copies():
    series = np.arange(5.0)
    x, y = ds.make_windows(series, 2)
    x[0, 0, 0] = 99.0
    assert series[0] == 0.0 and x[1, 0, 0] == 1.0


@pytest.mark.parametrize("window,horizon", [(5, 1), (4, 2), (0, 1), (2, 0), (2.0, 1), (-1, 1)])
def test_make_windows_errors(window, horizon):
    with pytest.raises(ValueError):
        ds.make_windows(np.arange(5.0), window, horizon)


def test_make_windows_needs_1d():
    with pytest.raises(ValueError):
        ds.make_windows(np.zeros((10, 1)), 3)


def test_co2_forecasting_shapes():
    (x_tr, y_tr), (x_te, y_te) = ds.load_co2_forecasting()
    assert x_tr.shape == (1775, 52, 1) and y_tr.shape == (1775, 1)
    assert x_te.shape == (457, 52, 1) and y_te.shape == (457, 1)
    assert {a.dtype for a in (x_tr, y_tr, x_te, y_te)} == {np.dtype(np.float32)}


@pytest.mark.parametrize("name", sorted(ds.TIMESERIES))
@pytest.mark.parametrize("window,horizon,fraction", [(10, 1, 0.2), (7, 3, 0.25)])
def test_forecasting_split_is_chronological_and_leak_free(name, window, horizon, fraction):
    (x_tr, y_tr), (x_te, y_te), (mean, std) = ds.load_forecasting(
        name, window, horizon, fraction, dtype="float64", return_stats=True)
    values, _ = ds.load_timeseries(name)
    n_test = round(fraction * len(values))
    n_train = len(values) - n_test
    # Normalisation statistics come from the training part only.
    assert mean == pytest.approx(values[:n_train].mean())
    assert std == pytest.approx(values[:n_train].std())
    z = (values - mean) / std
    # Train uses only the first n_train values; test targets are exactly the rest.
    x_ref, y_ref = ds.make_windows(z[:n_train], window, horizon)
    assert np.allclose(x_tr, x_ref) and np.allclose(y_tr, y_ref)
    assert np.allclose(y_te[:, 0], z[n_train:])
    assert len(y_tr) + len(y_te) == len(values) - window - horizon + 1
    # The test inputs are the `window` values ending `horizon` steps before each target.
    assert np.allclose(x_te[0, :, 0], z[n_train - horizon - window + 1:n_train - horizon + 1])
    # Training data is standardised (mean 0, std 1 over the training part).
    assert abs(z[:n_train].mean()) < 1e-9 and z[:n_train].std() == pytest.approx(1.0)


def test_forecasting_stats_invert_normalisation():
    (_, y_tr), _, (mean, std) = ds.load_sunspots_forecasting(return_stats=True)
    values, _ = ds.load_timeseries("sunspots")
    assert np.allclose(y_tr[:, 0] * std + mean, values[22:22 + len(y_tr)], atol=1e-3)


def test_forecasting_errors():
    with pytest.raises(ValueError):
        ds.load_co2_forecasting(test_fraction=0)
    with pytest.raises(ValueError):
        ds.load_co2_forecasting(test_fraction=1.0)
    with pytest.raises(ValueError, match="window"):
        ds.load_sunspots_forecasting(window=300)      # longer than the series
    with pytest.raises(ValueError):
        ds.load_sunspots_forecasting(window=250)      # longer than the training part
    with pytest.raises(ValueError):
        ds.load_forecasting("nope", window=3)
    with pytest.raises(ValueError):
        ds.load_co2_forecasting(dtype="int64")


# ---------------------------------------------------------------- files

def test_bundled_files_are_the_documented_ones():
    data = resources.files("minigrad.datasets").joinpath("data")
    readme = data.joinpath("README.md").read_text(encoding="utf-8")
    for name in ("digits.csv.gz", "co2.csv", "sunspots.csv"):
        digest = hashlib.sha256(data.joinpath(name).read_bytes()).hexdigest()
        assert digest in readme, f"{name} changed or its checksum is not in data/README.md"
