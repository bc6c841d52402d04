"""Understanding a recurrent model: how gradients flow through time, gates, recurrent weights."""

from rnnkit.diagnostics.gradients import StateGradRecord, record_state_grads
from rnnkit.diagnostics.report import Diagnosis, LayerDiagnosis, diagnose, training_figures
from rnnkit.diagnostics.verdict import Verdict, judge

__all__ = ["Diagnosis", "LayerDiagnosis", "StateGradRecord", "Verdict", "diagnose", "judge",
           "record_state_grads", "training_figures"]
