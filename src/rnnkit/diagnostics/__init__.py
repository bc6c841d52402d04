"""Understanding a recurrent model: how gradients flow through time."""

from rnnkit.diagnostics.gradients import StateGradRecord, record_state_grads

__all__ = ["StateGradRecord", "record_state_grads"]
