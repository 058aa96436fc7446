"""Units for people: durations as ``1h02m03.4s`` and money as ``$1,234.56``.

The contract's numbers are seconds and US dollars; these render them for tables,
charts and messages. Rounding happens once, on the total, so an end time of
1499.99999 s reads ``25m00.0s``, never ``24m60.0s``.

Examples:
    >>> format_duration(1499.9999999999998), format_duration(59.96), format_duration(3725.04)
    ('25m00.0s', '1m00.0s', '1h02m05.0s')
    >>> format_duration(-3.0), format_duration(None), format_usd(1234.5)
    ('-3.0s', '-', '$1,234.50')
    >>> format_duration(90061, precise=False)
    '1d01h01m'
    >>> count(1, "node"), count(2, "country"), count(3, "replica"), plural("operator")
    ('1 node', '2 countries', '3 replicas', 'operators')
"""

from __future__ import annotations

import math


def format_duration(seconds: float | None, *, precise: bool = True) -> str:
    """Seconds as ``12.3s``, ``4m05.6s``, ``1h02m03.4s`` (``precise=False``: whole minutes, days past 24 h)."""
    if seconds is None or not math.isfinite(seconds):
        return "-" if seconds is None else str(seconds)
    if seconds < 0:
        return "-" + format_duration(-seconds, precise=precise)
    if not precise:
        minutes = int(round(seconds / 60))
        if minutes < 1:
            return f"{seconds:.0f}s"
        d, rem = divmod(minutes, 1440)
        h, m = divmod(rem, 60)
        return (f"{d}d{h:02d}h{m:02d}m" if d else f"{h}h{m:02d}m" if h else f"{m}m")
    tenths = int(round(seconds * 10))
    if tenths < 600:
        return f"{tenths / 10:.1f}s"
    minutes, tenth_s = divmod(tenths, 600)
    h, m = divmod(minutes, 60)
    sec = f"{tenth_s // 10:02d}.{tenth_s % 10}s"
    return f"{h}h{m:02d}m{sec}" if h else f"{m}m{sec}"


def format_usd(usd: float | None) -> str:
    """Dollars as ``$1,234.56`` (``-`` for none)."""
    return "-" if usd is None else f"${usd:,.2f}"


_IRREGULAR = {"country": "countries", "is": "are", "has": "have", "lacks": "lack", "retry": "retries"}


def plural(word: str) -> str:
    """The plural of an English noun (or of a verb's third person) as this tool uses them."""
    return _IRREGULAR.get(word, word + "s")


def count(n: int, word: str) -> str:
    """``1 node``, ``2 nodes``: a number with the noun agreeing."""
    return f"{n} {word if n == 1 else plural(word)}"
