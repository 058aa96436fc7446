"""Analyses over plans, built on the engine: `verify` (the audit, independent of the engine),
`explain` (why a task may run where), `metrics` (data moved, borders crossed), `whatif`
(one change, planned and diffed), `sweep` (many changes and the cost/time front, in
parallel), `replan` (after failures), `simulate` (Monte Carlo execution)."""
