#!/usr/bin/env python3
"""Thin wrapper: see `numpy_model.cli` (python runner.py --help)."""
import os
import sys

# One BLAS thread per simulation unless the user asks otherwise: the ensemble's many small
# products are slower with threads, and sweeps run one simulation per core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from numpy_model.cli import main

if __name__ == "__main__":
    sys.exit(main())
