"""The calendar the API accepts: dates and instants within 1900–2100, refused by name otherwise.

Python's datetime stops at years 1 and 9999, so an instant near either end (9999-12-31 at
-14:00) overflows the moment it is converted to UTC or moved by a deadline; the rules never
need dates outside this range (DOMAIN.md: birth dates, authorizations, claims, deadlines).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

YEARS = range(1900, 2101)
OUT_OF_RANGE = f"must be within the years {YEARS.start}–{YEARS.stop - 1}"


def in_range(value: date) -> bool:
    if value.year not in YEARS:
        return False
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).year in YEARS
    return True


def dates_in(
    value: Any, loc: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], date]]:
    """Every date and datetime inside a model, with where it sits."""
    if isinstance(value, date):
        yield loc, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from dates_in(getattr(value, name), (*loc, name))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from dates_in(item, (*loc, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from dates_in(item, (*loc, str(key)))


M = TypeVar("M", bound=BaseModel)


def checked(model: M) -> M:
    """`check_dates` as a pydantic AfterValidator, for bodies that are not api.schemas.Body."""
    check_dates(model)
    return model


def check_dates(model: BaseModel) -> None:
    """Raises a ValidationError naming each out-of-range date of `model` by its path."""
    errors = [
        InitErrorDetails(
            type=PydanticCustomError("date_out_of_range", OUT_OF_RANGE),
            loc=loc,
            input=value.isoformat(),
        )
        for loc, value in dates_in(model)
        if not in_range(value)
    ]
    if errors:
        raise ValidationError.from_exception_data(type(model).__name__, errors)
