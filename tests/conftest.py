import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))  # tests/helpers.py
torch.set_num_threads(1)  # small shapes: threads only add noise and contention
