"""Small real datasets that ship inside minigrad and load without a network.

Everything here reads files from ``minigrad/datasets/data`` and returns plain
NumPy arrays; nothing is downloaded. Sources, licences and checksums of the
files are listed in ``minigrad/datasets/data/README.md``.

Images: the 8x8 handwritten digits
    1797 grey-scale images of the digits 0-9, each 8x8 pixels with integer
    values 0..16 (the number of inked pixels in a 4x4 block of a 32x32 scan).
    This is the test part of the UCI "Optical Recognition of Handwritten
    Digits" dataset by E. Alpaydin and C. Kaynak (1998), licensed CC BY 4.0
    (https://doi.org/10.24432/C50P49). The file is the ``digits.csv.gz`` copy
    distributed in the scikit-learn wheel (about 56 KB).

    * :func:`load_digits_raw` - all 1797 images and labels, unscaled.
    * :func:`load_digits` - a seeded, stratified train/test split, scaled to
      [0, 1] and shaped for a convolutional network.

Time series (one value per time step, public domain)
    ``"co2"``: weekly mean atmospheric CO2 (ppm) at Mauna Loa, Hawaii, from
    1958-03-29 to 2001-12-29: 2284 weeks, 59 of them missing in the file and
    filled here by linear interpolation. Scripps Institution of Oceanography
    (C. D. Keeling, T. P. Whorf), distributed by CDIAC; file from statsmodels.

    ``"sunspots"``: yearly mean sunspot number, 1700-2008: 309 years. NOAA
    National Geophysical Data Center; file from statsmodels.

    * :func:`load_timeseries` - the values and their dates/years.
    * :func:`make_windows` - cut a series into (past window, future value)
      pairs for forecasting.
    * :func:`load_co2_forecasting`, :func:`load_sunspots_forecasting` -
      ready-made, normalised, chronological train/test splits.

Example::

    import minigrad.datasets as ds
    (x_train, y_train), (x_test, y_test) = ds.load_digits()
    x_train.shape, y_train.shape          # (1438, 8, 8, 1), (1438,)

    (x_train, y_train), (x_test, y_test) = ds.load_co2_forecasting(window=52)
    x_train.shape, y_train.shape          # (1775, 52, 1), (1775, 1)
"""
import gzip
import io
from importlib import resources

import numpy as np

__all__ = [
    "load_digits_raw",
    "load_digits",
    "TIMESERIES",
    "load_timeseries",
    "make_windows",
    "load_forecasting",
    "load_co2_forecasting",
    "load_sunspots_forecasting",
]

# The bundled files live next to this module. importlib.resources finds them
# whether minigrad is installed normally, in editable mode, or from a zip.
_DATA = resources.files(__name__).joinpath("data")

#: Names accepted by :func:`load_timeseries`, with a one-line description.
TIMESERIES = {
    "co2": "weekly atmospheric CO2 at Mauna Loa in ppm, 1958-2001 (2284 weeks)",
    "sunspots": "yearly mean sunspot number, 1700-2008 (309 years)",
}


def _read_csv(filename, header=True):
    """Read a bundled comma-separated file as a float array.

    ``header=True`` skips the first line (column names).

    Empty fields become NaN. ``.gz`` files are decompressed on the fly.
    """
    raw = _DATA.joinpath(filename).read_bytes()
    if filename.endswith(".gz"):
        raw = gzip.decompress(raw)
    return np.genfromtxt(io.BytesIO(raw), delimiter=",", skip_header=int(header))


def _check_fraction(test_fraction):
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float, np.floating)):
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction!r}")


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point type, got {dtype}")
    return dtype


# --------------------------------------------------------------------------
# Handwritten digits
# --------------------------------------------------------------------------

def load_digits_raw():
    """All 1797 digit images and their labels, exactly as stored.

    Returns:
        images (ndarray, shape (1797, 8, 8), dtype uint8): Pixel values are integers 0..16
            (0 = blank, 16 = fully inked).
        labels (ndarray, shape (1797,), dtype int64): The digit shown, 0..9. Every digit
            occurs 174 to 183 times.
    """
    table = _read_csv("digits.csv.gz", header=False)          # 1797 rows: 64 pixels, then the label
    images = table[:, :64].astype(np.uint8).reshape(-1, 8, 8)
    labels = table[:, 64].astype(np.int64)
    return images, labels


def load_digits(test_fraction=0.2, seed=0, dtype="float32", channels_last=True):
    """The digits split into a training and a test set, ready for a network.

    The split is stratified: each digit is divided between train and test in
    the same proportion (so both sets contain every digit), then both sets
    are shuffled. The same ``seed`` always gives the same split.

    Args:
        test_fraction (float in (0, 1), default 0.2): Share of each digit's images that goes
            to the test set.
        seed (int or None, default 0): Seed for the shuffle. ``None`` gives a different
            split every call.
        dtype (floating-point dtype, default 'float32'): Type of the returned images.
        channels_last (bool, default True): Image layout: ``(n, 8, 8, 1)`` if True, ``(n, 1,
            8, 8)`` if False.

    Returns:
        (x_train, y_train), (x_test, y_test): ``x_*`` are images scaled to [0, 1] (pixel /
            16), shaped as above; ``y_*`` are int64 labels 0..9, shape ``(n,)``. With the
            defaults, 1438 training and 359 test images.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = datasets.load_digits()
        >>> x_train.shape, x_test.shape
        ((1438, 8, 8, 1), (359, 8, 8, 1))
    """
    _check_fraction(test_fraction)
    dtype = _float_dtype(dtype)
    images, labels = load_digits_raw()
    rng = np.random.default_rng(seed)

    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        # At least one image of every digit on each side.
        n_test = min(max(int(round(test_fraction * len(idx))), 1), len(idx) - 1)
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))

    x = (images / 16.0).astype(dtype)
    x = x[..., np.newaxis] if channels_last else x[:, np.newaxis]
    return (x[train_idx], labels[train_idx]), (x[test_idx], labels[test_idx])


# --------------------------------------------------------------------------
# Time series
# --------------------------------------------------------------------------

def _fill_gaps(values):
    """Replace NaNs by linear interpolation between their neighbours."""
    missing = np.isnan(values)
    steps = np.arange(len(values))
    filled = values.copy()
    filled[missing] = np.interp(steps[missing], steps[~missing], values[~missing])
    return filled


def load_timeseries(name="co2", fill_missing=True):
    """One bundled real time series as a 1-D array, with its time stamps.

    Args:
        name (str, default 'co2'): ``"co2"`` or ``"sunspots"`` (see :data:`TIMESERIES`).
        fill_missing (bool, default True): The CO2 file has 59 missing weeks. If True
            (default) they are filled by linear interpolation; if False they are left as
            NaN.

    Returns:
        values (ndarray, shape (T,), dtype float64): ``"co2"``: CO2 mole fraction in ppm,
            one value per week (T = 2284). ``"sunspots"``: mean sunspot number, one value
            per year (T = 309).
        times (ndarray, shape (T,)): ``"co2"``: the date ending each week, dtype
            ``datetime64[D]`` (one every 7 days, 1958-03-29 to 2001-12-29). ``"sunspots"``:
            the year, dtype int64 (1700 to 2008).
    """
    if name == "co2":
        table = _read_csv("co2.csv")                  # columns: YYYYMMDD, ppm
        dates = table[:, 0].astype(np.int64)
        iso = [f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}" for d in dates]
        times = np.array(iso, dtype="datetime64[D]")
        values = table[:, 1]
    elif name == "sunspots":
        table = _read_csv("sunspots.csv")             # columns: year, sunspot number
        times = table[:, 0].astype(np.int64)
        values = table[:, 1]
    else:
        raise ValueError(f"unknown time series {name!r}; choose one of {sorted(TIMESERIES)}")
    if fill_missing:
        values = _fill_gaps(values)
    return values, times


def make_windows(series, window, horizon=1):
    """Cut a 1-D series into inputs and targets for forecasting.

    Sample ``i`` takes ``window`` consecutive values as input and the value
    ``horizon`` steps after the last of them as target::

        x[i] = series[i : i + window]
        y[i] = series[i + window + horizon - 1]

    With ``horizon=1`` the target is the very next value. Windows overlap
    (they move forward one step at a time).

    Args:
        series (array_like, shape (T,)): the series, oldest value first.
        window (int >= 1): Number of past values the model sees.
        horizon (int >= 1, default 1): How many steps ahead the target lies.

    Returns:
        x (ndarray, shape (n, window, 1)): ``n = T - window - horizon + 1`` samples; the
            trailing 1 is the feature axis (one measurement per time step), as recurrent and
            1-D convolutional layers expect.
        y (ndarray, shape (n, 1)): Same dtype as ``series``. Shaped like the output of a
            final ``Dense(1)`` layer so that ``prediction - y`` does not broadcast.
    """
    series = np.asarray(series)
    if series.ndim != 1:
        raise ValueError(f"series must be 1-D, got shape {series.shape}")
    _check_positive_int(window, "window")
    _check_positive_int(horizon, "horizon")
    n = len(series) - window - horizon + 1
    if n < 1:
        raise ValueError(f"a series of length {len(series)} is too short for "
                         f"window={window} and horizon={horizon} "
                         f"(needs at least {window + horizon} values)")
    x = np.lib.stride_tricks.sliding_window_view(series[:n + window - 1], window)
    y = series[window + horizon - 1:]
    return x[:, :, np.newaxis].copy(), y[:, np.newaxis].copy()


def load_forecasting(name, window, horizon=1, test_fraction=0.2, dtype="float32",
                     return_stats=False):
    """A normalised, chronological train/test split of a bundled series.

    1. The series is split in time: the first ``1 - test_fraction`` of its
       values are the training part, the rest the test part.
    2. Mean and standard deviation are computed from the training part only
       and used to standardise the whole series: ``z = (value - mean) / std``.
    3. :func:`make_windows` is applied to each part. Test windows may start
       in the training part (the model is allowed to see the recent past),
       but every test *target* lies after every training value, and no
       training input or target ever contains a test value.

    Args:
        name (str): ``"co2"`` or ``"sunspots"``.
        window (int): see :func:`make_windows`.
        horizon (int, default 1): see :func:`make_windows`.
        test_fraction (float in (0, 1), default 0.2): Share of the series (counted in time
            steps) held out for testing.
        dtype (floating-point dtype, default 'float32'): Type of the returned arrays.
        return_stats (bool, default False): Also return ``(mean, std)`` to turn predictions
            back into real units with ``prediction * std + mean``.

    Returns:
        (x_train, y_train), (x_test, y_test) [, (mean, std)]: ``x_*`` shaped ``(n, window,
            1)``, ``y_*`` shaped ``(n, 1)``, all standardised. The test targets are exactly
            the last ``round(test_fraction * T)`` values of the series.
    """
    _check_fraction(test_fraction)
    _check_positive_int(window, "window")
    _check_positive_int(horizon, "horizon")
    dtype = _float_dtype(dtype)
    values, _ = load_timeseries(name)

    n_test = int(round(test_fraction * len(values)))
    n_train = len(values) - n_test
    if n_test < 1 or n_train < window + horizon:
        raise ValueError(f"{name!r} has {len(values)} values: test_fraction={test_fraction} "
                         f"leaves {n_train} for training and {n_test} for testing, but "
                         f"window={window}, horizon={horizon} need at least "
                         f"{window + horizon} training values and 1 test value")

    mean, std = values[:n_train].mean(), values[:n_train].std()
    z = ((values - mean) / std).astype(dtype)
    train = make_windows(z[:n_train], window, horizon)
    # Start the test part early enough that its first target is z[n_train].
    test = make_windows(z[n_train - window - horizon + 1:], window, horizon)
    if return_stats:
        return train, test, (float(mean), float(std))
    return train, test


def load_co2_forecasting(window=52, horizon=1, test_fraction=0.2, dtype="float32",
                         return_stats=False):
    """Weekly Mauna Loa CO2, ready for forecasting.

    Same as ``load_forecasting("co2", ...)``. The default window of 52 weeks
    shows the model one full seasonal cycle. With the defaults: 1775 training
    samples (1958-1993) and 457 test samples (1993-2001), each
    ``x`` of shape ``(52, 1)`` and ``y`` of shape ``(1,)``.

    Args:
        window (int, default 52): past values per sample.
        horizon (int, default 1): how many steps ahead the target lies.
        test_fraction (float in (0, 1), default 0.2): share of the series held out.
        dtype (floating-point dtype, default 'float32'): type of the returned arrays.
        return_stats (bool, default False): also return ``(mean, std)``.

    Returns:
        (x_train, y_train), (x_test, y_test) [, (mean, std)]: see :func:`load_forecasting`.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = datasets.load_co2_forecasting()
        >>> x_train.shape, y_test.shape
        ((1775, 52, 1), (457, 1))
    """
    return load_forecasting("co2", window, horizon, test_fraction, dtype, return_stats)


def load_sunspots_forecasting(window=22, horizon=1, test_fraction=0.2, dtype="float32",
                              return_stats=False):
    """Yearly sunspot numbers, ready for forecasting.

    Same as ``load_forecasting("sunspots", ...)``. The default window of 22
    years covers two solar cycles of about 11 years. With the defaults: 225
    training samples (targets 1722-1946) and 62 test samples (1947-2008).

    Args:
        window (int, default 22): past values per sample.
        horizon (int, default 1): how many steps ahead the target lies.
        test_fraction (float in (0, 1), default 0.2): share of the series held out.
        dtype (floating-point dtype, default 'float32'): type of the returned arrays.
        return_stats (bool, default False): also return ``(mean, std)``.

    Returns:
        (x_train, y_train), (x_test, y_test) [, (mean, std)]: see :func:`load_forecasting`.
    """
    return load_forecasting("sunspots", window, horizon, test_fraction, dtype, return_stats)
