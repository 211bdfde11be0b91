"""The tenant scope: every read and write of a rights holder's rows goes through a ``Scope``,
which adds ``rights_holder_id = <the user's>`` to the query. An object of another rights holder is
simply not found. Helpers never commit; the caller owns the transaction."""


from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

T = TypeVar("T")


class NotFound(LookupError):
    """No such object for this rights holder (it may exist for another: we do not say)."""


class Refused(ValueError):
    """A state change that the lifecycle does not allow (an illegal transition, a resend)."""


def _column(model: type[Any], name: str) -> sa.ColumnElement[Any]:
    """A mapped model's column by name (tenant models all have ``id`` and ``rights_holder_id``)."""
    col: sa.ColumnElement[Any] = getattr(model, name)
    return col


@dataclass(frozen=True)
class Scope:
    """One rights holder's view of the store, acting as one person."""

    session: Session
    rights_holder_id: int
    actor: str  # the user's e-mail, written into every event

    def select(self, model: type[T]) -> sa.Select[T]:
        return sa.select(model).where(_column(model, "rights_holder_id") == self.rights_holder_id)

    def get(self, model: type[T], obj_id: int) -> T:
        obj = self.session.scalar(self.select(model).where(_column(model, "id") == obj_id))
        if obj is None:
            raise NotFound(f"{model.__name__} {obj_id} not found")
        return obj

    def get_for_update(self, model: type[T], obj_id: int) -> T:
        q = self.select(model).where(_column(model, "id") == obj_id)
        if self.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        obj = self.session.scalar(q)
        if obj is None:
            raise NotFound(f"{model.__name__} {obj_id} not found")
        return obj


