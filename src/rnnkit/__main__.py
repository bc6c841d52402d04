"""`python -m rnnkit ...` (also what `torchrun -m rnnkit ...` runs)."""

from rnnkit.cli import main

raise SystemExit(main())
