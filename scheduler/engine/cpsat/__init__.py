"""The exact engine: an OR-Tools CP-SAT model of the whole placement.

- `data`: the integer clock and the replica slots the model is built from;
- `variables`, `constraints`, `objective`: the model's parts (each with its warm start);
- `model`: `PlacementModel` builds them and solves in two phases;
- `results`: settings, outcome and status of a solve; `solve`: the one call;
- `lns`: windows of tasks re-solved around a complete schedule, for models too large to solve whole.
"""
