"""The one registry of cell names: every layer, model, task, experiment and the CLI looks a cell up
here, and an unknown name is one error listing the known ones.

A variant is its math file in functional/ plus one `register(...)` line below (family.py says what
a family carries). `rnn` is accepted as an alias of `rnn_tanh` (the name the classify, forecast
and toy tasks and the experiments used before the registry).
"""

from __future__ import annotations

from typing import Literal

from rnnkit.errors import ConfigError
from rnnkit.functional.family import CellFamily, ParamSpec
from rnnkit.functional.gru import GRUCellMath
from rnnkit.functional.ln_gru import LNGRUCellMath
from rnnkit.functional.ln_lstm import LNLSTMCellMath
from rnnkit.functional.lstm import LSTMCellMath
from rnnkit.functional.mingru import MINGRU
from rnnkit.functional.minlstm import MINLSTM
from rnnkit.functional.peephole_lstm import PeepholeLSTMCellMath
from rnnkit.functional.rnn import ElmanCell

_FAMILIES: dict[str, CellFamily] = {}
_BY_MODE: dict[str, CellFamily] = {}
ALIASES = {"rnn": "rnn_tanh"}


class UnknownCellError(ConfigError):
    """A cell name that is not in the registry."""


def register(family: CellFamily) -> CellFamily:
    """Add a family under its name; a name or mode taken twice is a bug."""
    taken = {f.mode for f in _FAMILIES.values()}
    if family.name in _FAMILIES or family.name in ALIASES or family.mode in taken:
        raise ValueError(f"cell family {family.name!r} (mode {family.mode!r}) is registered twice")
    _FAMILIES[family.name] = _BY_MODE[family.mode] = family
    return family


def names(aliases: bool = False) -> tuple[str, ...]:
    """The registered cell names, in registration order (and the aliases, if asked)."""
    return tuple(_FAMILIES) + (tuple(ALIASES) if aliases else ())


def get(name: str, key: str = "model.cell") -> CellFamily:
    """The family registered as `name` (or an alias); `key` names the setting in the error."""
    if isinstance(name, str):
        family = _FAMILIES.get(ALIASES.get(name, name))
        if family is not None:
            return family
    known = ", ".join(names()) + "".join(f" ({a} = {t})" for a, t in ALIASES.items())
    raise UnknownCellError(f"{key}: unknown cell {name!r}; known cells: {known}")


def by_mode(mode: str) -> CellFamily:
    """The family whose layer mode is `mode` ("LSTM", "GRU", "RNN_TANH", "LN_LSTM", ...)."""
    family = _BY_MODE.get(mode)
    if family is not None:
        return family
    known = ", ".join(f.mode for f in _FAMILIES.values())
    raise ValueError(f"mode must be one of {known}; got {mode!r}")


# ---------------------------------------------------------------- the registrations

register(CellFamily(
    "lstm", "LSTM", lambda **_: LSTMCellMath(), states=("h", "c"), blocks="ifgo",
    gate_stats=(("i", True), ("f", True), ("g", False), ("o", True)), native=True,
    auto_native=True, projection=True, forget_gate=1, input_gate=0,
    summary="LSTM with forget gate (torch.nn.LSTM)"))
register(CellFamily(
    "gru", "GRU", lambda reset_after=True, **_: GRUCellMath(reset_after), blocks="rzn",
    gate_stats=(("r", True), ("z", True), ("n", False)), native=True, forget_gate=1,
    summary="GRU (torch.nn.GRU; reset_after=False: Cho et al. 2014)"))
register(CellFamily(
    "rnn_tanh", "RNN_TANH", lambda **_: ElmanCell("tanh"), gate_stats=(("h", False),),
    native=True, summary="Elman RNN, tanh (torch.nn.RNN)"))
register(CellFamily(
    "rnn_relu", "RNN_RELU", lambda **_: ElmanCell("relu"), nonlinearity="relu", native=True,
    summary="Elman RNN, relu (torch.nn.RNN(nonlinearity='relu'))"))
LSTM_GATES = (("i", True), ("f", True), ("g", False), ("o", True))
register(CellFamily(
    "ln_lstm", "LN_LSTM", lambda **_: LNLSTMCellMath(), states=("h", "c"), blocks="ifgo",
    gate_stats=LSTM_GATES, forget_gate=1, input_gate=0,
    extra=(ParamSpec("ln_ih_weight", lambda H: (4 * H,), 1.0),
           ParamSpec("ln_hh_weight", lambda H: (4 * H,), 1.0),
           ParamSpec("ln_c_weight", lambda H: (H,), 1.0),
           ParamSpec("ln_c_bias", lambda H: (H,), 0.0)),
    summary="layer-normalised LSTM (Ba et al. 2016; norms on the input and recurrent "
            "pre-activations and on the cell, as haste)"))
register(CellFamily(
    "peephole_lstm", "PEEPHOLE_LSTM", lambda **_: PeepholeLSTMCellMath(), states=("h", "c"),
    blocks="ifgo", gate_stats=LSTM_GATES, forget_gate=1, input_gate=0,
    extra=(ParamSpec("weight_ci", lambda H: (H,)), ParamSpec("weight_cf", lambda H: (H,)),
           ParamSpec("weight_co", lambda H: (H,))),
    summary="LSTM with peephole connections (Gers & Schmidhuber 2000)"))
register(CellFamily(
    "ln_gru", "LN_GRU", lambda **_: LNGRUCellMath(), blocks="rzn",
    gate_stats=(("r", True), ("z", True), ("n", False)), forget_gate=1,
    extra=(ParamSpec("ln_ih_weight", lambda H: (3 * H,), 1.0),
           ParamSpec("ln_hh_weight", lambda H: (3 * H,), 1.0)),
    summary="layer-normalised GRU (Ba et al. 2016; norms on the input and recurrent "
            "pre-activations, as haste)"))



def _no_step_math(name: str):
    def make(**_):
        raise ConfigError(f"the {name} cell is a whole-sequence scan with no step cell for "
                          f"torch.nn-style layers; use rnnkit.Recurrent({name!r}, ...) or "
                          f"rnnkit.{'MinGRU' if name == 'mingru' else 'MinLSTM'}")
    return make


register(CellFamily(
    "mingru", "MINGRU", _no_step_math("mingru"), blocks="zc", scan=MINGRU,
    summary="minGRU (Feng et al. 2024): gates from the input only, trained as a linear scan"))
register(CellFamily(
    "minlstm", "MINLSTM", _no_step_math("minlstm"), blocks="fic", scan=MINLSTM,
    summary="minLSTM (Feng et al. 2024): gates from the input only, trained as a linear scan"))

# The type of a `cell` setting in the task configs: the registered names and the aliases, so a
# config or command line with another name is refused with the list (rnnkit.config).
CellName = Literal[names(aliases=True)]

__all__ = ["ALIASES", "CellFamily", "CellName", "ParamSpec", "UnknownCellError", "by_mode", "get",
           "names", "register"]
