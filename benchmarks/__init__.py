"""Benchmarks: ``python -m benchmarks`` (see benchmarks/__main__.py)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
