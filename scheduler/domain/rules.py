"""The contract's arithmetic in one place: completion and success probabilities, their
log weights, and the tolerances every comparison uses.

Every layer (heuristic, CP-SAT, bounds, the planner's static checks, `verify`,
`simulate`) calls these functions, so a rule of the contract changes here once.

- Completion probability of a replica: ``reputation`` (version 1.1 multiplies it
  by ``exp(-failures_per_hour * runtime_h)``).
- Success of a task: the probability that at least `quorum` of its replicas
  complete (independently); with quorum 1 that is ``1 - prod(1 - p)``.
- Success of a workflow: the product over its tasks.
- Failure weight of a replica: ``-log(1 - p)``. Weights add up where failures
  multiply, so "at least one of these replicas completes with probability >= s" is
  "their weights sum to at least ``-log(1 - s)``".

Examples:
    >>> round(task_success([0.9, 0.9]), 6)
    0.99
    >>> round(task_success([0.9, 0.9, 0.9], quorum=2), 6)
    0.972
    >>> round(failure_weight(0.9) + failure_weight(0.9), 6) == round(weight_needed(0.99), 6)
    True
    >>> completion_probability(0.9, failures_per_hour=0.0, runtime_s=3600)
    0.9
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

MAX_FAILURE_WEIGHT = 50.0
"""A replica that never fails (probability 1) counts as failing with probability e^-50."""

PROBABILITY_EPS = 1e-12
"""A success probability meets a target when it is at least the target minus this."""

TIME_EPS_S = 1e-9
"""Two instants within this are the same instant (list scheduling's comparisons)."""

DEADLINE_TOLERANCE_S = 1e-6
"""A plan meets a deadline (or a bound meets a plan) within this many seconds."""

RELATIVE_TIME_EPS = 1e-9
"""An instant counts as inside a limit when past it by at most a nanosecond per second (`within`)."""

COST_EPS_USD = 1e-9
"""Two costs within this are equal."""

ROUNDING_EPS = 1e-9
"""Rounding seconds to a solver clock: a value within this of a whole unit is that unit."""

WHOLE_EPS = 1e-6
"""A number of clock units within this of a whole number counts as whole (an exact clock)."""

QUALITY_DIGITS = 9
"""Makespans and costs are compared rounded to this many decimals (stable tie-breaks)."""

_LARGEST_BELOW_ONE = 1 - 1e-15


def completion_probability(reputation: float, failures_per_hour: float = 0.0, runtime_s: float = 0.0) -> float:
    """Probability that one replica of runtime `runtime_s` completes on a node.

    Parameters
    ----------
    reputation : float
        The node's probability of completing a task, in [0, 1].
    failures_per_hour : float
        The node's failure rate over time (0 in version 1).
    runtime_s : float
        The replica's runtime on the node by the contract's rules.

    Returns
    -------
    float
        ``reputation * exp(-failures_per_hour * runtime_s / 3600)``.

    Examples
    --------
    >>> round(completion_probability(0.99, 0.1, 36000), 4)
    0.3642
    """
    if failures_per_hour <= 0.0:
        return float(reputation)
    return float(reputation) * math.exp(-failures_per_hour * runtime_s / 3600.0)


def completion_probabilities(reputation: np.ndarray, failures_per_hour: np.ndarray | None,
                             runtime_s: np.ndarray) -> np.ndarray:
    """`completion_probability` over arrays (one entry per node); `failures_per_hour` None means 0."""
    if failures_per_hour is None:
        return reputation
    return reputation * np.exp(-failures_per_hour * runtime_s / 3600.0)


def task_success(probabilities: Iterable[float], quorum: int = 1) -> float:
    """Probability that at least `quorum` of independent replicas complete.

    Parameters
    ----------
    probabilities : iterable of float
        Each replica's completion probability.
    quorum : int
        How many must complete (1: any one).

    Returns
    -------
    float
        With quorum 1, ``1 - prod(1 - p)``; otherwise the tail of the Poisson
        binomial distribution.

    Examples
    --------
    >>> task_success([0.5, 0.5], quorum=2)
    0.25
    >>> task_success([], quorum=1)
    0.0
    """
    probs = [float(p) for p in probabilities]
    if quorum <= 1:
        fail = 1.0
        for p in probs:
            fail *= 1.0 - p
        return 1.0 - fail
    if quorum > len(probs):
        return 0.0
    # dist[j]: probability that exactly j of the replicas so far completed (j < quorum), the rest pooled
    dist = [1.0] + [0.0] * quorum
    for p in probs:
        for j in range(quorum, 0, -1):
            dist[j] = dist[j] * (1.0 if j == quorum else 1.0 - p) + dist[j - 1] * p
        dist[0] *= 1.0 - p
    return dist[quorum]


def workflow_success(log_successes: Iterable[float]) -> float:
    """The product of the tasks' success probabilities, from their logs (`log_task_success`).

    >>> round(workflow_success([log_task_success([0.99]), log_task_success([0.5])]), 6)
    0.495
    """
    total = 0.0
    for x in log_successes:
        if x == -math.inf:
            return 0.0
        total += x
    return math.exp(total)


def failure_weight(probability: float) -> float:
    """``-log(1 - p)``: the weights of replicas add up where their failures multiply (inf at 1)."""
    return -math.log1p(-probability) if probability < 1.0 else math.inf


def failure_weights(probabilities: np.ndarray) -> np.ndarray:
    """`capped_weight` over an array (element by element, the same floats as the scalar rule, inlined).

    >>> failure_weights(np.array([0.5, 1.0])).tolist() == [capped_weight(0.5), capped_weight(1.0)]
    True
    """
    log1p, cap = math.log1p, MAX_FAILURE_WEIGHT
    values = np.asarray(probabilities, dtype=float).tolist()
    return np.array([min(-log1p(-p), cap) if p < 1.0 else cap for p in values], dtype=float)


def capped_weight(probability: float) -> float:
    """`failure_weight` capped at `MAX_FAILURE_WEIGHT` (what the engine adds up)."""
    return min(failure_weight(probability), MAX_FAILURE_WEIGHT)


def weight_needed(success: float) -> float:
    """The failure weight replicas need together for at least one to complete with probability `success`."""
    return -math.log1p(-min(success, _LARGEST_BELOW_ONE))


def meets(probability: float, target: float) -> bool:
    """Whether a success probability reaches a target (within `PROBABILITY_EPS`)."""
    return probability >= target - PROBABILITY_EPS


def replicas_needed(probability: float, quorum: int, target: float, most: int) -> int | None:
    """The fewest replicas, each completing with `probability`, of which at least `quorum` complete
    with probability `target` (`meets`); None when `most` are not enough.

    >>> replicas_needed(0.88, 3, 0.99, 10), replicas_needed(0.9, 1, 0.99, 10), replicas_needed(0.5, 2, 0.99, 3)
    (6, 2, None)
    """
    for c in range(max(1, quorum), most + 1):
        if meets(task_success([probability] * c, quorum), target):
            return c
    return None


def completion_counts(probabilities: Iterable[float], quorum: int) -> list[float]:
    """How many of independent replicas complete, truncated at `quorum`: entry j < quorum is the
    probability that exactly j complete, entry `quorum` that at least `quorum` do (its last entry is
    `task_success`).

    >>> [round(x, 6) for x in completion_counts([0.5, 0.5], 2)]
    [0.25, 0.5, 0.25]
    """
    dist = [1.0] + [0.0] * quorum
    for p in probabilities:
        p = float(p)
        for j in range(quorum, 0, -1):
            dist[j] = dist[j] * (1.0 if j == quorum else 1.0 - p) + dist[j - 1] * p
        dist[0] *= 1.0 - p
    return dist


def merge_counts(a: list[float], b: list[float]) -> list[float]:
    """`completion_counts` of two disjoint groups of replicas combined (the same quorum)."""
    q = len(a) - 1
    out = [0.0] * (q + 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[min(i + j, q)] += x * y
    return out


def add_completion(counts: list[float], probability: float) -> list[float]:
    """`counts` (`completion_counts`) with one more replica completing with `probability`: the same floats
    as ``merge_counts(counts, completion_counts([probability], quorum))``, without building the second.

    >>> add_completion([0.5, 0.5, 0.0], 0.5) == merge_counts([0.5, 0.5, 0.0], completion_counts([0.5], 2))
    True
    """
    q, miss = len(counts) - 1, 1.0 - probability
    out = [0.0] * (q + 1)
    for k in range(q + 1):
        x = counts[k]
        if x:
            if k < q:
                out[k] += x * miss
                out[k + 1] += x * probability
            else:
                out[q] += x * miss
                out[q] += x * probability
    return out


def within(x_s: float, limit_s: float) -> bool:
    """Whether `x_s` is at most `limit_s`, within `RELATIVE_TIME_EPS` of it (an infinite limit holds all):
    a replica inside an availability window, a runtime no longer than a window.

    >>> within(3600.000001, 3600.0), within(3600.1, 3600.0), within(5.0, math.inf)
    (True, False, True)
    """
    return x_s <= tolerant_limit(limit_s)


def tolerant_limit(limit_s: float) -> float:
    """The largest value `within` `limit_s`: the limit plus `RELATIVE_TIME_EPS` of it (at least of 1 s).

    >>> tolerant_limit(3600.0) - 3600.0 < 1e-5, tolerant_limit(math.inf)
    (True, inf)
    """
    return limit_s + RELATIVE_TIME_EPS * max(1.0, abs(limit_s) if math.isfinite(limit_s) else 1.0)


def within_each(x_s: np.ndarray, limit_s: np.ndarray) -> np.ndarray:
    """`within`, element by element (the same tolerance), for arrays of times and limits.

    >>> within_each(np.array([3600.000001, 3600.1, 5.0]), np.array([3600.0, 3600.0, math.inf])).tolist()
    [True, False, True]
    """
    return np.asarray(x_s, dtype=float) <= tolerant_limits(limit_s)


def tolerant_limits(limit_s: np.ndarray) -> np.ndarray:
    """`tolerant_limit`, element by element (what `within_each` compares with; computed once where many
    times meet the same limits).

    >>> tolerant_limits(np.array([3600.0, math.inf])).tolist() == [tolerant_limit(3600.0), math.inf]
    True
    """
    limit = np.asarray(limit_s, dtype=float)
    scale = np.where(np.isfinite(limit), np.maximum(1.0, np.abs(limit)), 1.0)
    return limit + RELATIVE_TIME_EPS * scale


def quorum_arrival(times: Iterable[float], quorum: int = 1) -> float:
    """The `quorum`-th earliest of `times` (inf when there are fewer): when a quorum of copies of a
    result has arrived, a child may start (contract 1.1, Quorum).

    >>> quorum_arrival([30.0, 10.0, 20.0], 2), quorum_arrival([5.0], 2)
    (20.0, inf)
    """
    ordered = sorted(times)
    return float(ordered[quorum - 1]) if len(ordered) >= quorum else math.inf


def log_task_success(probabilities: Iterable[float], quorum: int = 1) -> float:
    """``log(task_success(...))``, -inf when the task cannot succeed (with quorum 1 computed as
    ``log1p(-prod(1 - p))``, exact for tiny failure probabilities)."""
    if quorum <= 1:
        fail = 1.0
        for p in probabilities:
            fail *= 1.0 - float(p)
        return math.log1p(-fail) if fail < 1.0 else -math.inf
    s = task_success(probabilities, quorum)
    return math.log(s) if s > 0.0 else -math.inf
