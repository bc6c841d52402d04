"""Task `forecast`: time-series forecasting, `horizon` steps at once from `lookback` steps.

Data (`data.name`): a bundled series (airline, lynx, sunspots, co2, nile; see
rnnkit.data.series) or a CSV file (a time column, target column(s), optional past covariates).
The series is cut into train | validation | test (rnnkit.data.windows): the last `data.folds`
origins, `data.stride` apart, are the rolling-origin backtest folds that `rnnkit evaluate`
scores; `data.valid_folds` horizons before them give the validation windows that `evaluate()`
reports on (0: no validation part, `evaluate()` then scores the training windows). The target
transform (log for airline and lynx) and the per-channel scaler are fitted on the training part
only and saved in `metadata()`.

Model: rnnkit.models.forecaster (recurrent encoder, direct multi-step head, Gaussian, Student-t
or quantile output; skip connection to the naive or seasonal-naive forecast). Loss: Gaussian or
Student-t NLL or pinball loss in the scaled space (+ model.point_weight times the squared error
of the point forecast). Metrics: loss, mae, rmse (original units), coverage of the
`model.level` interval.

Files: task.py (config, data, model, loss, metrics), run.py (a trained run: the backtest of
`rnnkit evaluate`), backtest.py (scoring every method from the same origins), baselines.py
(naive, seasonal naive, ETS, ARIMA), future.py (`rnnkit forecast`: past the end of a series).
"""

from rnnkit.tasks.forecast.future import forecast_loaded
from rnnkit.tasks.forecast.run import evaluate_loaded, format_report
from rnnkit.tasks.forecast.task import (
    DATA_KEY,
    TRAIN_DEFAULTS,
    Config,
    DataConfig,
    ForecastTask,
    ModelConfig,
    make_task,
    read_series,
    task_from_metadata,
)

__all__ = ["DATA_KEY", "TRAIN_DEFAULTS", "Config", "DataConfig", "ForecastTask", "ModelConfig",
           "evaluate_loaded", "forecast_loaded", "format_report", "make_task", "read_series",
           "task_from_metadata"]
