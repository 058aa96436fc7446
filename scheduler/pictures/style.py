"""What the pictures share: matplotlib imported when first drawn, the level colours, time axes in
people's units, and saving a figure whole or not at all."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..domain.units import format_duration
from ..formats.writing import write_atomic

LEVEL_COLOURS = ["#4caf50", "#2196f3", "#ff9800", "#e53935", "#8e24aa", "#6d4c41"]
TRANSFER_COLOUR = "#37474f"
DEADLINE_COLOUR = "#c62828"


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no screen needed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - plotting is an extra
        raise ValueError("pictures need matplotlib: pip install 'gpu-placement-scheduler[plot]'") from e
    return plt


def level_colour(levels: list[str], level: str) -> str:
    return LEVEL_COLOURS[levels.index(level) % len(LEVEL_COLOURS)] if level in levels else "#9e9e9e"


def nice_step(span_s: float, ticks: int = 8) -> float:
    """A round step in seconds (1, 2, 5 x a power of ten, or whole minutes and hours) for about `ticks` ticks.

    >>> nice_step(100), nice_step(3600), nice_step(40000)
    (15.0, 600.0, 7200.0)
    """
    raw = max(span_s, 1e-9) / ticks
    candidates = [1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900,
                  1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]
    return float(next((c for c in candidates if c >= raw), candidates[-1] * (raw // candidates[-1] + 1)))


def duration_label(seconds: float, step_s: float) -> str:
    """A tick label: ``45s``, ``10m``, ``1h30m``; with sub-second steps, ``0.25s``."""
    if step_s < 1:
        return f"{seconds:g}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    return format_duration(seconds, precise=False)


def time_axis(ax: Any, span_s: float, label: str = "time") -> None:
    """Ticks on round durations with readable labels."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    step = nice_step(span_s)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: duration_label(x, step)))
    ax.set_xlabel(label)


def save(fig: Any, path: str | Path) -> Path:
    """Save a figure as the file's suffix says (PNG by default), atomically; closes the figure."""
    plt = pyplot()
    buffer = io.BytesIO()
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    fig.savefig(buffer, format=fmt if fmt in ("png", "svg", "pdf") else "png")
    plt.close(fig)
    return write_atomic(path, buffer.getvalue())
