"""The optuna storage of the tuning studies: optuna's RDB storage on the registry's database.

Studies live beside the model runs (optuna keeps its own tables and ``alembic_version``),
so every worker that reaches the database can add trials to a study. :mod:`loop.tuning`
takes the storage object this module makes.
"""

from __future__ import annotations

from typing import Any

import optuna

from loop.errors import ValidationError

#: Seconds a SQLite connection waits for a busy lock before failing.
SQLITE_LOCK_TIMEOUT_S = 60.0


def make_optuna_storage(
    url: str, *, sqlite_timeout_s: float = SQLITE_LOCK_TIMEOUT_S
) -> optuna.storages.RDBStorage:
    """Optuna RDB storage on a SQLAlchemy URL (SQLite waits up to ``sqlite_timeout_s``, s,
    for a busy lock).

    Raises:
        ValidationError: the database cannot be opened (one line naming the URL).
    """
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": sqlite_timeout_s}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except Exception as exc:  # SQLAlchemy / optuna schema errors: one line for the user
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(f"cannot open optuna storage at {url}: {first}") from exc
