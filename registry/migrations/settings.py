"""Settings shared by the alembic environment and the schema checks."""

from __future__ import annotations

from typing import Any

#: Alembic version table of the registry (optuna uses ``alembic_version`` itself).
VERSION_TABLE = "nasicon_alembic_version"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate filter: ignore tables in the database that the registry does not define."""
    return not (type_ == "table" and reflected and compare_to is None)
