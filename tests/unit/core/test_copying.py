"""`core.copying.replace` is `dataclasses.replace`: the same copies, the same refusals."""

import dataclasses
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.copying import replace
from core.reference import CardUnitView


def _card() -> CardUnitView:
    return CardUnitView(card_unit_id="J1044-S003-07", sheet_id="J1044-S003", job_id="J1044", position=7, product_id="p")


_CARD = _card()
_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["created", "in_progress", "qa_failed", "voided"]),
        "current_station_id": st.none() | st.sampled_from(["PRESS-1", "QA-BENCH-3"]),
        "completed_operations": st.lists(st.sampled_from(["press", "foil", "cut"]), max_size=3).map(tuple),
        "qa_attempts": st.integers(0, 5),
        "updated_at": st.none() | st.datetimes(timezones=st.just(UTC)),
    },
)


@given(_CHANGES)
def test_a_copy_equals_the_librarys(changes: dict[str, object]) -> None:
    copy = replace(_CARD, **changes)
    assert copy == dataclasses.replace(_CARD, **changes)  # type: ignore[arg-type]
    assert type(copy) is CardUnitView
    assert _card() == _CARD  # the original is left as it was


def test_the_copy_is_frozen_like_the_original() -> None:
    copy = replace(_CARD, qa_attempts=2)
    with pytest.raises(FrozenInstanceError):
        copy.qa_attempts = 3  # type: ignore[misc]


def test_an_unknown_field_is_refused_as_the_library_refuses_it() -> None:
    with pytest.raises(TypeError, match="colour"):
        replace(_CARD, colour="red")


@dataclass(frozen=True, kw_only=True)
class _Checked:
    """A class whose __init__ does more than set fields: its copies must go through it."""

    at: datetime
    day: str = field(init=False)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("naive time")
        object.__setattr__(self, "day", self.at.date().isoformat())


def test_a_class_with_post_init_is_copied_through_its_init() -> None:
    original = _Checked(at=datetime(2026, 11, 27, 9, tzinfo=UTC))
    moved = replace(original, at=datetime(2026, 11, 28, 9, tzinfo=UTC))
    assert moved.day == "2026-11-28"
    with pytest.raises(ValueError, match="naive"):
        replace(original, at=datetime(2026, 11, 28, 9))
