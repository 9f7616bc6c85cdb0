"""Small, fast helpers the generator calls millions of times: weighted picks and COPY timestamps."""

import random
from bisect import bisect
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import accumulate

__all__ = ["DAY", "Clock", "cumulative", "pick", "zipf"]

DAY = 86_400


def cumulative(weights: Iterable[float]) -> list[float]:
    return list(accumulate(weights))


def zipf(n: int, s: float) -> list[float]:
    """Cumulative Zipf weights for ranks 1..n: rank k weighs 1 / k**s."""
    return cumulative(1 / (rank + 1) ** s for rank in range(n))


def pick(rng: random.Random, cum: list[float]) -> int:
    """An index drawn with the weights behind `cum` (a cumulative list)."""
    return bisect(cum, rng.random() * cum[-1])


class Clock:
    """COPY text timestamps (UTC), with the date part cached per day: the generator formats millions."""

    def __init__(self):
        self._days: dict[int, str] = {}

    def day(self, day: int) -> str:
        """'YYYY-MM-DD ' for a day number since the epoch."""
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d ")
        return text

    def ts(self, epoch: int) -> str:
        day, s = divmod(epoch, DAY)
        return f"{self.day(day)}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00"
