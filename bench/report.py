#!/usr/bin/env python3
"""HTML report of the benchmark runs (see docs/bench.md)."""
import sys
sys.exit("bench-report: not implemented yet")
