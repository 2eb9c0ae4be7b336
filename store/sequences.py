"""Named sequences in SQL: values handed out once, even to concurrent transactions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from store.schema import SequenceRow


def next_value(session: Session, insert: Any, name: str) -> int:
    """The next value of a named sequence. The UPDATE takes the row's lock, so concurrent
    transactions get distinct values and a rolled-back one gives its value back."""
    session.execute(
        insert(SequenceRow)
        .values(name=name, value=0)
        .on_conflict_do_nothing(index_elements=[SequenceRow.name])
    )
    bump = (
        update(SequenceRow)
        .where(SequenceRow.name == name)
        .values(value=SequenceRow.value + 1)
        .returning(SequenceRow.value)
    )
    value: int = session.execute(bump).scalar_one()
    return value
