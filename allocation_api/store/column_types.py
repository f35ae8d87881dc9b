"""Column types shared by the table classes.

`EnumText` stores a `StrEnum` as plain text (VARCHAR(n) or TEXT) and hands
back enum members when reading, so resolvers compare against enum members
while the database keeps a CHECK-guarded text column. Binding is lenient on
purpose: a plain string is sent as is and a bad value is rejected by the
CHECK constraint, which surfaces as `StoreConstraintViolation` naming the
constraint, instead of an SQLAlchemy `StatementError` raised in Python.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E], Generic[E]):
    """A `StrEnum` stored as text; `length` makes it VARCHAR(length)."""

    impl: TypeEngine[Any] | type[TypeEngine[Any]] = sa.Text
    cache_ok = True

    def __init__(self, enum_class: type[E], length: int | None = None) -> None:
        super().__init__()
        self.enum_class = enum_class
        self.length = length
        # The impl decides the DDL type, so it must match the migration exactly.
        self.impl = sa.String(length) if length is not None else sa.Text()

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(value.value if isinstance(value, self.enum_class) else value)

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum_class(value)

    def copy(self, **kw: Any) -> EnumText[E]:
        return EnumText(self.enum_class, self.length)

    def __repr__(self) -> str:
        return f"EnumText({self.enum_class.__name__}, length={self.length!r})"
