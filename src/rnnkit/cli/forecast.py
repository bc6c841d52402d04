"""`rnnkit forecast RUN_DIR [--input CSV] [--horizon H]`: forecasts with intervals.

Prints the forecast as CSV (`time,<target>,<target>_lower90,<target>_upper90,...`) and writes
forecast.csv and forecast.png into the run directory (or --out-dir). A run trained with
`model.calibrate=true` has its intervals scaled by the factor in RUN_DIR/calibration.json.
"""

from __future__ import annotations

from rnnkit.cli._runs import load_run as _load_run  # a seam the tests replace
from rnnkit.cli._runs import require_task


def add_parser(sub) -> None:
    p = sub.add_parser("forecast", help="forecast past the end of a series with a forecast run",
                       description="Forecast past the end of a series, with prediction "
                                   "intervals from the run's head (Gaussian, Student-t or "
                                   "quantiles; scaled by the run's calibration factor when it "
                                   "was trained with model.calibrate=true).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of `rnnkit train forecast`")
    p.add_argument("--input", default=None, metavar="CSV",
                   help="a series with the run's columns (default: the run's own data)")
    p.add_argument("--horizon", type=int, default=None,
                   help="steps to forecast (default: the trained horizon; longer rolls out)")
    p.add_argument("--which", choices=("best", "last"), default="best",
                   help="checkpoint to use (default: best)")
    p.add_argument("--out-dir", default=None, help="where forecast.csv/.png go (default RUN_DIR)")
    p.set_defaults(run=run)


def run(args) -> int:
    from rnnkit.tasks.forecast import forecast_loaded

    config, metadata, state_dict = _load_run(args.run_dir, args.which)
    require_task(config, metadata, args.run_dir, "rnnkit forecast", "forecast")
    result = forecast_loaded(config, metadata, state_dict, args.out_dir or args.run_dir,
                             args.input, args.horizon)
    with open(result["csv"]) as f:
        print(f.read(), end="")
    print(f"plot: {result['plot']}")
    return 0
