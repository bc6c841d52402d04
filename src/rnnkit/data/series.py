"""Time series for forecasting: a CSV file, a pandas Series/DataFrame, or a bundled series.

A `TimeSeries` holds target columns `values` (T, K), optional past covariates (T, C), the time
labels, and a seasonal period. Every loader goes through `from_frame`, which checks and cleans:

- a value that is not a number, or is infinite (`inf`, `1e999`), names its line (CSV) or row
  and its column: DataError;
- missing values (empty cells, NaN) are filled by linear interpolation in time (at the ends:
  the nearest value), and a note says how many and where (`TimeSeries.notes`);
- no numeric column, an all-missing column, or a constant target: DataError.

Bundled series (no download; from installed packages):
  airline   monthly airline passengers 1949-1960 (sktime's data file, read by path), season 12
  lynx      yearly Canadian lynx trappings 1821-1934 (sktime's data file), season 10
  sunspots  yearly sunspot activity 1700-2008 (statsmodels.datasets), season 11
  co2       Mauna Loa CO2, monthly means of statsmodels' weekly series 1958-2001, season 12
  nile      yearly Nile flow 1871-1970 (statsmodels.datasets), no season
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.errors import DataError

TIME_NAMES = ("date", "time", "timestamp", "datetime", "year", "month", "ds", "period")
# name -> (seasonal period, default transform): log where the seasonal swing grows with the level
BUILTIN = {"airline": (12, "log"), "lynx": (10, "log"), "sunspots": (11, "none"),
           "co2": (12, "none"), "nile": (1, "none")}
SEASONS = {"MS": 12, "M": 12, "ME": 12, "QS": 4, "Q": 4, "QE": 4, "W": 52, "D": 7, "h": 24,
           "H": 24}


@dataclass
class TimeSeries:
    name: str
    values: np.ndarray  # (T, K) float64 targets
    target_names: list[str]
    covariates: np.ndarray  # (T, C) float64 past covariates, C may be 0
    covariate_names: list[str]
    times: list[str]  # a label per step (row numbers when there is no time column)
    season: int = 1  # seasonal period in steps; 1 = none
    freq: str | None = None  # pandas frequency of the time labels when they are regular dates
    transform: str = "none"  # suggested target transform ("log" for the bundled airline, lynx)
    notes: list[str] = field(default_factory=list)  # what cleaning did, for the user

    def __len__(self) -> int:
        return self.values.shape[0]


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise DataError("forecasting data needs pandas: pip install 'rnnkit[data]'") from None
    return pd


def _sktime_csv(folder: str) -> Path:
    spec = importlib.util.find_spec("sktime")  # the data files only: sktime is never imported
    if spec is None or spec.origin is None:
        raise DataError(f"series {folder.lower()!r} ships with the sktime package: "
                        "pip install --no-deps sktime")
    path = Path(spec.origin).parent / "datasets" / "data" / folder / f"{folder}.csv"
    if not path.is_file():
        raise DataError(f"{path}: the installed sktime has no {folder} data file")
    return path


def _statsmodels(name: str):
    try:
        import statsmodels.datasets as sd
    except ImportError:
        raise DataError(f"series {name!r} ships with statsmodels: pip install 'rnnkit[data]'") \
            from None
    return getattr(sd, name).load_pandas().data


def _builtin_frame(name: str):
    """(frame, time column) of a bundled series."""
    pd = _pandas()
    if name == "airline":
        return pd.read_csv(_sktime_csv("Airline")), "Date"
    if name == "lynx":
        df = pd.read_csv(_sktime_csv("Lynx"))
        return df.set_axis(["year", "lynx"], axis=1), "year"
    if name == "sunspots":
        df = _statsmodels("sunspots")
        return df.assign(YEAR=df["YEAR"].astype(int)), "YEAR"
    if name == "nile":
        df = _statsmodels("nile")
        return df.assign(year=df["year"].astype(int)), "year"
    weekly = _statsmodels("co2")  # co2: weekly with gaps -> calendar-month means
    monthly = weekly["co2"].resample("MS").mean()
    return pd.DataFrame({"month": monthly.index.strftime("%Y-%m"), "co2": monthly.values}), \
        "month"


def load_series(source: str, target: str = "", time_column: str = "", covariates: str = "",
                season: int = 0) -> TimeSeries:
    """A bundled series by name, or a CSV file. `target`/`covariates`: comma-separated column
    names ("" targets = every numeric column that is not the time or a covariate); `season` 0 =
    the bundled series' period, or inferred from regular dates (monthly 12, quarterly 4, ...)."""
    if source in BUILTIN:
        frame, time_col = _builtin_frame(source)
        period, transform = BUILTIN[source]
        ts = from_frame(frame, source, target, time_col, covariates, season or period)
        ts.transform = transform
        return ts
    path = Path(source)
    if path.is_dir():
        raise DataError(f"data {source!r}: is a directory; expected a CSV file or a bundled "
                        f"series ({', '.join(BUILTIN)})")
    if not path.is_file():
        raise DataError(f"data {source!r}: not a bundled series ({', '.join(BUILTIN)}) "
                        "and no such CSV file")
    pd = _pandas()
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV file ({str(err).strip()})") from None
    return from_frame(frame, str(path), target, time_column, covariates, season, line_offset=2)


def from_pandas(obj, target: str = "", covariates: str = "", season: int = 0,
                name: str = "series") -> TimeSeries:
    """A pandas Series (one target) or DataFrame; the index gives the time labels."""
    pd = _pandas()
    if isinstance(obj, pd.Series):
        obj = obj.to_frame(name=str(obj.name) if obj.name is not None else "y")
    if not isinstance(obj, pd.DataFrame):
        raise DataError(f"from_pandas: expected a pandas Series or DataFrame, "
                        f"got {type(obj).__name__}")
    index = obj.index
    frame = obj.reset_index(drop=True).copy()
    frame.insert(0, "__time__", [str(t) for t in index])
    ts = from_frame(frame, name, target, "__time__", covariates, season, index=index)
    return ts


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _numeric(frame, col: str, where: str, line_offset: int | None):
    """Column as float64 with NaN for missing; a non-numeric entry is a DataError."""
    pd = _pandas()
    raw = frame[col]
    text = raw.astype(str).str.strip()
    missing = raw.isna() | text.isin(["", "NA", "NaN", "nan", "N/A", "null", "None"])
    num = pd.to_numeric(raw.where(~missing), errors="coerce")
    bad = np.flatnonzero((num.isna() & ~missing).to_numpy())
    if bad.size:
        i = int(bad[0])
        at = f"line {i + line_offset}" if line_offset else f"row {frame.index[i]!r}"
        raise DataError(f"{where}: {at}, column {col!r}: expected a number, got "
                        f"{raw.iloc[i]!r} ({bad.size} such value(s) in this column)")
    values = num.to_numpy(dtype=np.float64)
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        i = int(infinite[0])
        at = f"line {i + line_offset}" if line_offset else f"row {frame.index[i]!r}"
        raise DataError(f"{where}: {at}, column {col!r}: {str(raw.iloc[i])[:40]!r} is not finite "
                        f"({infinite.size} such value(s) in this column); leave the cell empty "
                        "for a missing value")
    return values


def _fill(x: np.ndarray, col: str, where: str, notes: list[str]) -> np.ndarray:
    """Linear interpolation over missing steps, nearest value at the ends."""
    miss = np.isnan(x)
    if not miss.any():
        return x
    if miss.all():
        raise DataError(f"{where}: column {col!r} has no values at all")
    idx = np.arange(len(x))
    filled = np.interp(idx, idx[~miss], x[~miss])  # np.interp holds the end values
    inside = idx[~miss][0], idx[~miss][-1]
    ends = int(miss[: inside[0]].sum() + miss[inside[1] + 1:].sum())
    notes.append(f"{where}: {int(miss.sum())} missing value(s) in column {col!r} filled by "
                 f"linear interpolation in time" + (f" ({ends} at the ends: nearest value)"
                                                    if ends else ""))
    return filled


def _time_column(frame, time_column: str, where: str) -> str | None:
    if time_column:
        if time_column not in frame.columns:
            raise DataError(f"{where}: no time column {time_column!r} (columns: "
                            f"{', '.join(map(str, frame.columns))}); set data.time_column")
        return time_column
    for col in frame.columns:
        if str(col).strip().lower() in TIME_NAMES:
            return col
    return None


def _freq(labels: list[str], index=None) -> str | None:
    """The pandas frequency of regular ISO dates ("1949-01", "2020-03-01"), else None; plain
    numbers (years) have none."""
    pd = _pandas()
    if len(labels) < 3 or all(t.lstrip("-").isdigit() for t in labels[:3]):
        return None
    try:
        stamps = (index if isinstance(index, pd.DatetimeIndex)
                  else pd.to_datetime(labels, format="ISO8601"))
        with warnings.catch_warnings():  # pandas 3 warns that a later version returns an offset
            warnings.simplefilter("ignore")
            freq = pd.infer_freq(stamps)
    except (ValueError, TypeError):
        return None
    return getattr(freq, "freqstr", freq)


def from_frame(frame, where: str, target: str = "", time_column: str = "", covariates: str = "",
               season: int = 0, line_offset: int | None = None, index=None) -> TimeSeries:
    """Check and clean a table of strings or numbers into a TimeSeries (see the module doc)."""
    time_col = _time_column(frame, time_column, where)
    cov_names = _names(covariates)
    for col in cov_names + _names(target):
        if col not in frame.columns:
            raise DataError(f"{where}: no column {col!r} (columns: "
                            f"{', '.join(map(str, frame.columns))})")
    if _names(target):
        targets = _names(target)
    else:  # every column holding at least one number
        pd = _pandas()
        rest = [c for c in frame.columns if c != time_col and c not in cov_names]
        targets = [c for c in rest if pd.to_numeric(frame[c], errors="coerce").notna().any()]
        if not targets:
            raise DataError(f"{where}: no numeric column to forecast (columns: "
                            f"{', '.join(map(str, frame.columns))})")
    notes: list[str] = []
    cols = {c: _fill(_numeric(frame, c, where, line_offset), c, where, notes)
            for c in targets + cov_names}
    values = np.stack([cols[c] for c in targets], axis=1)
    flat = [t for t, s in zip(targets, values.std(axis=0), strict=True) if s < 1e-12]
    if flat:
        raise DataError(f"{where}: target column {flat[0]!r} is constant "
                        f"({values[0, targets.index(flat[0])]:g} throughout); nothing to forecast")
    cov = (np.stack([cols[c] for c in cov_names], axis=1) if cov_names
           else np.zeros((len(values), 0)))
    times = ([str(t) for t in frame[time_col]] if time_col is not None
             else [str(i) for i in range(len(values))])
    freq = _freq(times, index) if time_col is not None else None
    if season <= 0:
        season = SEASONS.get((freq or "").split("-")[0], 1)
    return TimeSeries(where, values, [str(t) for t in targets], cov, [str(c) for c in cov_names],
                      times, season, freq, "none", notes)
