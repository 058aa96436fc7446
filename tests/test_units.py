"""Durations and counts as people read them (`scheduler.domain.units`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.domain.units import count, format_duration


@pytest.mark.parametrize("seconds, text", [(1499.9999999999998, "25m00.0s"), (59.96, "1m00.0s"), (3599.96, "1h00m00.0s"),
                                           (12.34, "12.3s"), (3725.04, "1h02m05.0s"), (0.0, "0.0s")])
def test_durations_round_once(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.floats(min_value=0, max_value=1e7))
def test_no_sixty_ever(seconds: float) -> None:
    text = format_duration(seconds)
    assert "m60" not in text and "h60" not in text and not text.startswith("60.")


def test_counts_agree() -> None:
    assert [count(1, "eligible node"), count(3, "country"), count(0, "retry")] == ["1 eligible node", "3 countries",
                                                                                   "0 retries"]
