#!/usr/bin/env python3
"""Thin wrapper: see `numpy_model.cli` (python runner.py --help)."""
import sys

from numpy_model.cli import main

if __name__ == "__main__":
    sys.exit(main())
