"""GPU slots in use on one node over time: a step function with insertion (list scheduling's
one data structure)."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from ...domain.rules import TIME_EPS_S

EPS = TIME_EPS_S
LONG_TIMELINE = 1024  # segments beyond which an insertion search is bounded (below, it is exhaustive)
MAX_SCAN = 64  # segments a bounded search visits before it settles for the free tail (linear time overall)


class Timeline:
    """GPU slots in use on one node over time, a step function; supports insertion."""

    __slots__ = ("cap", "times", "used")

    def __init__(self, capacity: int) -> None:
        self.cap = int(capacity)
        self.times: list[float] = [0.0]
        self.used: list[int] = [0]

    def earliest(self, ready: float, duration: float, gpus: int, latest: float = math.inf) -> float:
        """Earliest start >= `ready` with `gpus` free slots for `duration` seconds; ``inf`` when
        there is none, or none at or before `latest` (which bounds the scan).

        On a long timeline (over `LONG_TIMELINE` segments) the search visits at most `MAX_SCAN`
        segments; past that it returns the start of the free tail, where `gpus` slots stay free for
        ever: a valid start, the earliest one when no gap before it is long enough, and a search that
        costs O(1) per call however many replicas the node already holds."""
        if gpus <= 0:
            return ready
        if gpus > self.cap:
            return math.inf
        times, used, room = self.times, self.used, self.cap - gpus  # a segment using more than `room` blocks
        n = len(times)
        budget = MAX_SCAN if n > LONG_TIMELINE else n + 1
        start = ready
        j = bisect_right(times, start) - 1
        steps = 0
        while True:
            end = start + duration - EPS
            k = j
            while True:  # segment j, then every segment that begins before the end
                steps += 1
                if used[k] > room:
                    break
                k += 1
                if k >= n or times[k] >= end:
                    return start
            if steps > budget:
                tail = max(start, self.free_tail(gpus))
                return tail if tail <= latest else math.inf
            if k + 1 >= n:
                return math.inf
            j = k + 1
            start = times[j]
            if start > latest:
                return math.inf

    def free_tail(self, gpus: int) -> float:
        """When the last stretch begins that keeps `gpus` slots free for ever (after the last breakpoint
        no slot is held, so the walk back stops within `MAX_SCAN` segments or at that breakpoint)."""
        times, used, cap = self.times, self.used, self.cap
        k = len(times) - 1
        while k > 0 and used[k - 1] + gpus <= cap and len(times) - k < MAX_SCAN:
            k -= 1
        return times[k]

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
        if b <= a:  # shorter than the clock's resolution (EPS): it holds nothing
            return
        used = self.used
        for k in range(a, b):
            used[k] += gpus
        # merge with the neighbours where the use is now the same: a node packed back to back stays one
        # segment, so a search skips it in one step (the step function, and every answer, is unchanged)
        if b < len(used) and used[b] == used[b - 1]:
            del self.times[b], used[b]
        if a > 0 and used[a] == used[a - 1]:
            del self.times[a], used[a]


