import numpy as np
import pandas as pd
import pytest

from rnnkit.data.series import from_pandas, load_series
from rnnkit.data.windows import fit_scaled, make_layout, unscale_targets, windows
from rnnkit.errors import DataError


def write(path, text):
    path.write_text(text)
    return str(path)


def test_csv_columns_covariates_and_interpolation(tmp_path):
    src = write(tmp_path / "s.csv", "date,sales,temp\n2020-01,1,10\n2020-02,,11\n2020-03,3,\n"
                                    "2020-04,4,13\n2020-05,NA,14\n")
    ts = load_series(src, target="sales", covariates="temp")
    assert ts.target_names == ["sales"] and ts.covariate_names == ["temp"]
    # interior gap: linear; trailing gap: the nearest value
    np.testing.assert_allclose(ts.values[:, 0], [1, 2, 3, 4, 4])
    np.testing.assert_allclose(ts.covariates[:, 0], [10, 11, 12, 13, 14])
    assert ts.times[0] == "2020-01" and ts.freq == "MS" and ts.season == 12
    assert "2 missing value(s) in column 'sales'" in ts.notes[0] and "1 at the ends" in ts.notes[0]
    assert "1 missing value(s) in column 'temp'" in ts.notes[1]


def test_default_targets_are_the_numeric_columns(tmp_path):
    src = write(tmp_path / "s.csv", "year,a,b,note\n1,1,5,x\n2,2,4,y\n3,4,6,z\n")
    ts = load_series(src)
    assert ts.target_names == ["a", "b"] and ts.times == ["1", "2", "3"]


@pytest.mark.parametrize("text, needle", [
    ("t,y\n1,3\n2,abc\n3,4\n", "line 3, column 'y': expected a number, got 'abc'"),
    ("t,y\n1,a\n2,b\n", "no numeric column"),
    ("t,y\n1,5\n2,5\n3,5\n", "'y' is constant (5 throughout)"),
    ("t,y\n1,\n2,\n", "no numeric column"),
])
def test_bad_csv_gives_one_clear_error(tmp_path, text, needle):
    src = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError) as err:
        load_series(src, time_column="t")
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_missing_column_and_file(tmp_path):
    src = write(tmp_path / "s.csv", "t,y\n1,2\n2,3\n")
    with pytest.raises(DataError, match="no column 'z'"):
        load_series(src, target="z")
    with pytest.raises(DataError, match="not a bundled series"):
        load_series(str(tmp_path / "nope.csv"))


def test_horizon_longer_than_series_and_too_short():
    with pytest.raises(DataError, match="horizon=20 is not shorter than the series"):
        make_layout(12, lookback=4, horizon=20)
    with pytest.raises(DataError, match="too few"):
        make_layout(30, lookback=12, horizon=6, folds=2)


def test_pandas_series_and_bundled():
    idx = pd.date_range("2000-01-01", periods=30, freq="QS")
    ts = from_pandas(pd.Series(np.arange(30.0), index=idx, name="gdp"))
    assert ts.target_names == ["gdp"] and ts.season == 4 and len(ts) == 30
    air = load_series("airline")
    assert len(air) == 144 and air.values[0, 0] == 112 and air.season == 12
    assert air.transform == "log"


def test_layout_parts_and_windows():
    lay = make_layout(100, lookback=10, horizon=5, folds=3, stride=5, valid_folds=1)
    assert lay.origins == [85, 90, 95] and lay.train_end == 80
    assert lay.train_origins()[0] == 10 and lay.train_origins()[-1] + 5 == 80
    assert list(lay.valid_origins()) == [80]
    data = np.arange(100.0)[:, None]
    x, y = windows(data, np.array([10, 50]), 10, 5, 1)
    assert x.shape == (2, 10, 1) and y.shape == (2, 5, 1)
    assert x[1, :, 0].tolist() == list(range(40, 50)) and y[1, :, 0].tolist() == [50, 51, 52,
                                                                                   53, 54]


def test_scaling_never_sees_the_test_part():
    rng = np.random.default_rng(0)
    values = rng.normal(10, 2, size=(60, 1))
    lay = make_layout(60, lookback=8, horizon=6, folds=2, valid_folds=1)
    changed = values.copy()
    changed[lay.train_end:] *= 1000.0  # validation and test parts wildly different
    a = fit_scaled(values, np.zeros((60, 0)), "log", lay.train_end)
    b = fit_scaled(changed, np.zeros((60, 0)), "log", lay.train_end)
    assert a.scaler == b.scaler
    np.testing.assert_allclose(a.scaler.mean[0], np.log(values[:lay.train_end]).mean())
    back = unscale_targets(a.data[:, :1], a.scaler, 1, "log")
    np.testing.assert_allclose(back, values, rtol=1e-5)
