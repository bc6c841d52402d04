"""rnnkit.RNN, rnnkit.LSTM, rnnkit.GRU: drop-in for torch.nn.RNN/LSTM/GRU.

Every torch.nn argument keeps its meaning; rnnkit adds:
- impl: "auto" | "reference" | "fused" | "native" (see rnnkit.backends.dispatch).
- forward(..., lengths=...): per-row lengths of a padded batch, instead of packing.
- GRU(reset_after=False): the reset gate applied before the recurrent matmul (Cho et al. 2014).
- Recurrent(cell, ...): a stack of any registered cell family by name (`lstm`, `ln_lstm`, ...).
"""

from __future__ import annotations

from rnnkit.checks import ShapeError
from rnnkit.functional import registry
from rnnkit.layers.base import RecurrentBase
from rnnkit.layers.minimal import scan_layer_for


def no_projection(proj_size) -> None:
    """torch.nn.RNN / GRU refuse a proj_size argument with a ValueError (even 0)."""
    if proj_size is not None:
        raise ShapeError(
            f"proj_size argument is only supported for LSTM, not RNN or GRU (got proj_size="
            f"{proj_size!r}); remove it, or use rnnkit.LSTM"
        )


class RNN(RecurrentBase):
    """Elman RNN stack: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.

    Parameters per layer k (and `_reverse` for the backward direction), as torch.nn.RNN:
    weight_ih_l{k} (H, I or D*H), weight_hh_l{k} (H, H), bias_ih_l{k} (H,), bias_hh_l{k} (H,).
    Returns (output (T, B, D*H), h_n (D*num_layers, B, H)).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, impl: str = "auto",
                 device=None, dtype=None, proj_size=None):
        no_projection(proj_size)
        mode = "RNN_RELU" if nonlinearity == "relu" else "RNN_TANH"  # checked by check_settings
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, nonlinearity=nonlinearity, impl=impl, device=device,
                         dtype=dtype)


class LSTM(RecurrentBase):
    """LSTM stack, gate order i, f, g, o (as torch.nn.LSTM):

        i, f, o = sigmoid(.), g = tanh(.) of x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t);   h_t = h_t W_hr^T if proj_size > 0

    Parameters: weight_ih_l{k} (4H, I), weight_hh_l{k} (4H, P or H), bias_ih_l{k}, bias_hh_l{k}
    (4H,), weight_hr_l{k} (P, H) with proj_size P. Returns (output, (h_n, c_n)).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, impl: str = "auto",
                 device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size=proj_size, impl=impl, device=device, dtype=dtype)


class GRU(RecurrentBase):
    """GRU stack, gate order r, z, n (as torch.nn.GRU):

        r, z = sigmoid(x_t W_i{r,z}^T + b_i{r,z} + h_{t-1} W_h{r,z}^T + b_h{r,z})
        n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))      (reset_after=True)
        h_t = (1 - z) * n + z * h_{t-1}

    torch.nn (and cuDNN, and Keras' default) apply the reset gate after the recurrent matmul.
    reset_after=False gives the form of Cho et al. 2014, n = tanh(x W_in^T + b_in + (r * h) W_hn^T
    + b_hn), which no torch kernel has (impl "native" then refuses; "auto" picks "fused").
    Parameters: weight_ih_l{k} (3H, I), weight_hh_l{k} (3H, H), bias_ih_l{k}, bias_hh_l{k} (3H,).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, reset_after: bool = True, impl: str = "auto",
                 device=None, dtype=None, proj_size=None):
        no_projection(proj_size)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, reset_after=reset_after, impl=impl, device=device,
                         dtype=dtype)


class Recurrent(RecurrentBase):
    """A stack of the cell family registered as `cell` (rnnkit.functional.registry: `lstm`,
    `gru`, `rnn_tanh`, `rnn_relu`, `ln_lstm`, ...; `rnn` = `rnn_tanh`), with torch.nn's layer
    arguments. Recurrent("lstm", ...) is rnnkit.LSTM(...) in all but its class name: the same
    parameters, state_dict and state; a variant adds its extra parameters (`ln_ih_weight_l0`,
    ...) after torch.nn's. `proj_size` only where the family takes it; `reset_after` only matters
    for the GRU. `recurrent_dropout` (one mask per sequence; off in eval) on h entering the
    recurrent product (`recurrent_dropout_mode="variational"`, Gal & Ghahramani) or on the
    candidate ("semeniuta", Semeniuta et al.), and `zoneout` (on h and c; eval uses the
    expectation) act on any family: rnnkit.functional.regularise.

    A scan-trained cell (`mingru`, `minlstm`: no W_hh) is a layer of its own: Recurrent("mingru",
    ...) returns an rnnkit.MinGRU (and "minlstm" an rnnkit.MinLSTM) with these arguments, and
    refuses in one line the settings it cannot honour (proj_size, recurrent_dropout, zoneout)."""

    def __new__(cls, cell: str | None = None, *args, **kwargs):
        # no cell: copy and pickle make the object before they restore its state
        family = None if cell is None else registry.get(cell, key="cell")
        if family is not None and family.scan is not None and cls is Recurrent:
            return scan_layer_for(family.name, *args, **kwargs)  # not a Recurrent: no __init__
        return super().__new__(cls)

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, reset_after: bool = True,
                 impl: str = "auto", device=None, dtype=None, *, recurrent_dropout: float = 0.0,
                 zoneout: float = 0.0, recurrent_dropout_mode: str = "variational"):
        family = registry.get(cell, key="cell")
        super().__init__(family.mode, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size=proj_size,
                         nonlinearity=family.nonlinearity, reset_after=reset_after, impl=impl,
                         device=device, dtype=dtype, recurrent_dropout=recurrent_dropout,
                         zoneout=zoneout, recurrent_dropout_mode=recurrent_dropout_mode)
        self.cell = family.name

    def extra_repr(self) -> str:
        return f"{self.cell!r}, " + super().extra_repr()
