"""The LSTM's gradient flow at initialisation on the adding problem: forget bias 1 against chrono.

    PYTHONPATH=src python benchmarks/flow_lstm_init.py [--length 400] [--run RUN_DIR] [--out PNG]

Builds the LSTM that `rnnkit experiment adding --cells lstm --lengths T [--init chrono]` builds
(seed 0, 128 units), prints ||dL/dh_t|| (batch of 64, batch mean) at a few distances from the loss
for both initialisations and draws them in one PNG. With --run (the --out directory of a chrono
run at the same T) the trained model's curve from its results.json is drawn too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from rnnkit.diagnostics.plots import plot_flow
from rnnkit.experiments.common import SequenceModel, gradient_flow
from rnnkit.experiments.run import PROBLEMS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--length", type=int, default=400)
    ap.add_argument("--run", default=None, help="a chrono run's --out directory (optional)")
    ap.add_argument("--out", default="flow_lstm_init.png")
    args = ap.parse_args()
    torch.set_num_threads(1)
    T, flows = args.length, {}
    for init, label in (("default", "lstm forget bias 1, init"), ("chrono", "lstm chrono, init")):
        torch.manual_seed(0)  # as train_problem: seed, then the model; chrono draws from seed + 3
        model = SequenceModel("lstm", 2, 128, 1, True, 1.0, init, T,
                              torch.Generator().manual_seed(3))
        flows[label] = gradient_flow(model, PROBLEMS["adding"], T, 2)["norm"]
    if args.run:
        r = json.loads((Path(args.run) / "results.json").read_text())[0]
        if r["flow_start"]["norm"] != flows["lstm chrono, init"]:
            raise SystemExit(f"--run: expected a seed-0 LSTM chrono run at T = {T}, got "
                             f"{r['cell']} at T = {r['length']}")
        flows[f"lstm chrono, after {r['steps']} steps"] = r["flow_end"]["norm"]
    for label, norms in flows.items():
        at = [d for d in (1, 10, 50, 100, 200, 300, T - 1) if d < len(norms)]
        print(f"{label:30}", "  ".join(f"{d}: {norms[d]:.2g}" for d in at))
    plot_flow(flows, args.out, f"adding, T = {T}, LSTM: gradient reaching h_t, forget bias 1 "
              "vs chrono")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
