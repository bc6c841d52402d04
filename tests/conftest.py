import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))  # tests/helpers.py
torch.set_num_threads(1)  # small shapes: threads only add noise and contention
# impl="auto" by its fixed rules, not by timing on a loaded machine: the suite's choices must not
# depend on the load (tests/backends/test_autotune.py turns measurement on with its own timer)
os.environ["RNNKIT_AUTO"] = "rules"
