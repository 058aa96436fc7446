"""Pictures: Gantt charts of plans and simulation histograms (matplotlib, imported lazily)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - plotting is an extra
        raise ValueError("plots need matplotlib: pip install 'gpu-placement-scheduler[plot]'") from e
    return plt


def simulation_histogram(series: list[tuple[str, list[float]]], path: Path) -> None:
    """Histogram of completed runs' makespans, one colour per plan."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for name, xs in series:
        if xs:
            ax.hist(xs, bins=40, alpha=0.55, label=f"{Path(name).name} ({len(xs)} completed)")
    ax.set_xlabel("makespan (s)")
    ax.set_ylabel("runs")
    ax.set_title("Simulated makespans")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
