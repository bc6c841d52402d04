"""Non-finite and degenerate data: inf is an error naming the file and line, missing values are
imputed as documented (docs/reliability.md) unless a whole channel is missing, and a training set
with one class is an error."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.scaling import ChannelScaler
from rnnkit.data.series import from_pandas, load_series
from rnnkit.data.ts_format import read_ts
from rnnkit.errors import DataError
from rnnkit.tasks.classify import Config, make_task
from rnnkit.tasks.classify.prep import fit_prep

HEADER = "@problemName toy\n@univariate false\n@dimensions 2\n@classLabel true a b\n@data\n"


def one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "1e999", "-1E400"])
def test_ts_infinite_value_names_file_line_and_place(tmp_path, value):
    path = tmp_path / "x.ts"
    path.write_text(HEADER + "1,2,3:4,5,6:a\n" + f"1,2:3,{value}:b\n")
    with pytest.raises(DataError) as err:
        read_ts(path)
    message = one_line(err)
    assert message.startswith(f"{path}:7:")
    assert "dimension 2, value 2" in message and "not finite" in message


@pytest.mark.parametrize("case", ["?,?:1,2:a", "nan,NaN:1,2:a", "1,2:?,?:b"])
def test_ts_all_missing_channel_is_an_error(tmp_path, case):
    path = tmp_path / "x.ts"
    path.write_text(HEADER + case + "\n")
    with pytest.raises(DataError) as err:
        read_ts(path)
    message = one_line(err)
    assert message.startswith(f"{path}:6:") and "no values" in message


def test_ts_some_missing_values_are_kept_as_nan(tmp_path):
    path = tmp_path / "x.ts"
    path.write_text(HEADER + "1,?,3:?,5,6:a\n")
    series = read_ts(path).series[0]
    assert np.isnan(series[1, 0]) and np.isnan(series[0, 1])


@pytest.mark.parametrize("label", ["inf", "nan", "?", "-Infinity"])
def test_ts_regression_target_must_be_finite(tmp_path, label):
    path = tmp_path / "r.ts"
    path.write_text("@univariate true\n@targetLabel true\n@data\n1,2:0.5\n3,4:" + label + "\n")
    with pytest.raises(DataError) as err:
        read_ts(path)
    assert one_line(err).startswith(f"{path}:5:") and "target" in str(err.value)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "Infinity"])
def test_csv_infinite_value_names_line_and_column(tmp_path, value):
    path = tmp_path / "s.csv"
    path.write_text(f"t,y,z\n1,3,1\n2,4,2\n3,{value},3\n4,6,4\n")
    with pytest.raises(DataError) as err:
        load_series(str(path), time_column="t")
    message = one_line(err)
    assert str(path) in message and "line 4, column 'y'" in message and "not finite" in message


def test_csv_infinite_covariate_is_an_error(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("t,y,c\n1,3,1\n2,4,-inf\n3,5,3\n")
    with pytest.raises(DataError, match=r"line 3, column 'c'.*not finite"):
        load_series(str(path), target="y", covariates="c", time_column="t")


def test_pandas_infinite_value_names_the_row():
    frame = pd.DataFrame({"y": [1.0, 2.0, np.inf, 4.0]}, index=[10, 11, 12, 13])
    with pytest.raises(DataError, match=r"row 2, column 'y'.*not finite"):
        from_pandas(frame)


def test_scaler_refuses_infinite_values_instead_of_zeroing_them():
    good = [np.array([[1.0], [2.0], [3.0]])]
    with pytest.raises(DataError, match="not finite"):
        ChannelScaler.fit(good + [np.array([[1.0], [np.inf]])])
    scaler = ChannelScaler.fit(good)
    with pytest.raises(DataError, match="not finite"):
        scaler.transform(np.array([[1.0], [-np.inf]]))


def test_scaler_refuses_a_series_with_an_all_missing_channel():
    scaler = ChannelScaler.fit([np.array([[1.0, 2.0], [3.0, 5.0]])])
    with pytest.raises(DataError, match="channel 2 has no values"):
        scaler.transform(np.array([[1.0, np.nan], [2.0, np.nan]]))
    with pytest.raises(DataError, match="channel 1 has no values"):
        ChannelScaler.fit([np.array([[np.nan, 1.0], [np.nan, 2.0]])])
    # a few missing steps are imputed with the training mean (0 after scaling)
    z = scaler.transform(np.array([[np.nan, 2.0], [3.0, 5.0]]))
    assert z[0, 0] == 0.0 and np.isfinite(z).all()


def test_one_class_training_set_is_an_error(tmp_path):
    cfg = Config(data={"train_path": "x.ts"}).data
    xs = [np.zeros((3, 1)) + i for i in range(4)]
    with pytest.raises(DataError) as err:
        fit_prep(cfg, "series", ["a", "b"], xs, ["a"] * 4)
    assert "only one class ('a')" in one_line(err)
    path = tmp_path / "one.ts"
    path.write_text("@univariate true\n@classLabel true a b\n@data\n"
                    + "".join(f"{i},{i + 1},{i + 2}:a\n" for i in range(10)))
    with pytest.raises(DataError, match="only one class"):
        make_task(Config(data={"train_path": str(path)}))
