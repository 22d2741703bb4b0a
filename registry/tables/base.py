"""The base of every registry table: its own metadata (constraint naming convention) and
the column helpers (UTC time stamps, JSON)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry as orm_registry
from sqlmodel import Field, SQLModel

from registry.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_ORM = orm_registry(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))


class RegistryModel(SQLModel, registry=_ORM):
    """Base of every registry table (own metadata, so no other SQLModel tables mix in)."""


metadata: sa.MetaData = RegistryModel.metadata


def ts_field(**kw: Any) -> Any:
    """A UTC time stamp column, now by default."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, **kw)


def json_field(nullable: bool = False) -> Any:
    """A JSON column (required unless ``nullable``)."""
    return Field(default=None if nullable else ..., sa_type=sa.JSON, nullable=nullable)
