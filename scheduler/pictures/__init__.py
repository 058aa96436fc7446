"""Pictures (matplotlib, imported when drawn): Gantt charts of plans as PNG or self-contained HTML
(`gantt`, `html`), a what-if's two plans in one picture, simulation histograms and the
cost/time front (`charts`). Every function writes its file atomically and returns its path."""

from .charts import pareto_plot, simulation_histogram
from .gantt import gantt, moved_marks, whatif_gantt

__all__ = ["gantt", "moved_marks", "pareto_plot", "simulation_histogram", "whatif_gantt"]
