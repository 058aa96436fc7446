"""GPU slots in use on one node over time: a step function with insertion (list scheduling's
one data structure)."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from ...domain.rules import TIME_EPS_S

EPS = TIME_EPS_S


class Timeline:
    """GPU slots in use on one node over time, a step function; supports insertion."""

    __slots__ = ("cap", "times", "used")

    def __init__(self, capacity: int) -> None:
        self.cap = int(capacity)
        self.times: list[float] = [0.0]
        self.used: list[int] = [0]

    def earliest(self, ready: float, duration: float, gpus: int, latest: float = math.inf) -> float:
        """Earliest start >= `ready` with `gpus` free slots for `duration` seconds; ``inf`` when
        there is none, or none at or before `latest` (which bounds the scan)."""
        if gpus <= 0:
            return ready
        if gpus > self.cap:
            return math.inf
        times, used, cap = self.times, self.used, self.cap
        n = len(times)
        start = ready
        j = bisect_right(times, start) - 1
        while True:
            end = start + duration
            k = j
            blocked = -1
            while k < n and (k == j or times[k] < end - EPS):
                if used[k] + gpus > cap:
                    blocked = k
                    break
                k += 1
            if blocked < 0:
                return start
            if blocked + 1 >= n:
                return math.inf
            j = blocked + 1
            start = times[j]
            if start > latest:
                return math.inf

    def _split(self, t: float) -> int:
        times = self.times
        k = bisect_left(times, t - EPS)
        if k < len(times) and abs(times[k] - t) <= EPS:
            return k
        times.insert(k, t)
        self.used.insert(k, self.used[k - 1] if k > 0 else 0)
        return k

    def add(self, start: float, end: float, gpus: int) -> None:
        if gpus <= 0 or end <= start:
            return
        a = self._split(start)
        b = self._split(end)
        for k in range(a, b):
            self.used[k] += gpus


