"""Pictures (matplotlib, imported when drawn): Gantt charts of plans (PNG or self-contained
HTML), simulation histograms, the cost-versus-makespan front."""
