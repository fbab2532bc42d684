"""Station calendars on the simulated clock: when a station is open, and when work started now ends.

The simulated clock counts minutes (a float) from the simulation's start. A station works inside its operating
hours only; work that is still going at closing time pauses and resumes at the next opening, so an operation
started at 21:58 with five minutes to go ends at 06:03 the next working morning.
"""

import bisect
from dataclasses import dataclass
from datetime import datetime

from core.factory import OperatingHours

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


@dataclass(frozen=True, slots=True)
class StationCalendar:
    """Open intervals of one week, in minutes after the simulation's start-of-week, and the week's phase."""

    open_starts: tuple[float, ...]  # minute of the week each open interval begins, ascending
    open_ends: tuple[float, ...]
    phase: float  # minute of the week at simulated minute 0
    always_open: bool = False

    @classmethod
    def for_hours(cls, hours: OperatingHours, start: datetime) -> "StationCalendar":
        starts: list[float] = []
        ends: list[float] = []
        for weekday in sorted(hours.weekdays):
            day = weekday * MINUTES_PER_DAY
            begin, end = float(day + hours.start_minute), float(day + hours.end_minute)
            if ends and ends[-1] == begin:  # a window running to midnight meets the next day's from midnight
                ends[-1] = end
            else:
                starts.append(begin)
                ends.append(end)
        return cls(open_starts=tuple(starts), open_ends=tuple(ends), phase=week_minute(start))

    @classmethod
    def around_the_clock(cls) -> "StationCalendar":
        """The live demo's plant: a demo runs at any hour, so its stations never close."""
        return cls(open_starts=(0.0,), open_ends=(float(MINUTES_PER_WEEK),), phase=0.0, always_open=True)

    def next_open(self, at: float) -> float:
        """`at` if the station is open then, else the moment it next opens."""
        if self.always_open:
            return at
        in_week = (self.phase + at) % MINUTES_PER_WEEK
        week_began = at - in_week
        index = bisect.bisect_right(self.open_starts, in_week) - 1
        if index >= 0 and in_week < self.open_ends[index]:
            return at
        if index + 1 < len(self.open_starts):
            return week_began + self.open_starts[index + 1]
        return week_began + MINUTES_PER_WEEK + self.open_starts[0]

    def is_open(self, at: float) -> bool:
        return self.next_open(at) == at

    def closes_after(self, at: float) -> float:
        """When the open interval containing `at` ends (`at` must be open)."""
        if self.always_open:
            return float("inf")
        in_week = (self.phase + at) % MINUTES_PER_WEEK
        index = bisect.bisect_right(self.open_starts, in_week) - 1
        end = at - in_week + self.open_ends[index]
        if self.open_ends[index] == MINUTES_PER_WEEK and self.open_starts[0] == 0.0:
            end += self.open_ends[0]  # Sunday night runs into Monday morning
        return end

    def add_work(self, at: float, minutes: float) -> float:
        """When `minutes` of work begun at `at` ends, pausing whenever the station is closed."""
        moment = self.next_open(at)
        remaining = minutes
        while True:
            closing = self.closes_after(moment)
            if moment + remaining <= closing:
                return moment + remaining
            remaining -= closing - moment
            moment = self.next_open(closing)

    def open_minutes_between(self, begin: float, end: float) -> float:
        """Working minutes inside [begin, end): how the simulator places anomalies in working time."""
        total, moment = 0.0, self.next_open(begin)
        while moment < end:
            closing = min(self.closes_after(moment), end)
            total += closing - moment
            moment = self.next_open(closing)
        return total

    def after_open_minutes(self, begin: float, minutes: float) -> float:
        """The moment `minutes` of open time after `begin`."""
        return self.add_work(begin, minutes)


def week_minute(moment: datetime) -> float:
    return moment.weekday() * MINUTES_PER_DAY + moment.hour * 60 + moment.minute + moment.second / 60
