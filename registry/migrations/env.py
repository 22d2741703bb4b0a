"""Alembic environment of the registry (run through :mod:`registry.migrations`).

The version is kept in ``nasicon_alembic_version`` (optuna's RDB storage keeps its own
``alembic_version`` in the same database), and autogenerate only looks at the
registry's tables: anything else in the database (optuna's tables) is left alone.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from registry.migrations.settings import VERSION_TABLE, include_object
from registry.tables import metadata

config = context.config


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    from registry.engine import make_engine, write_engine

    engine = write_engine(make_engine(config.get_main_option("sqlalchemy.url")))
    with engine.begin() as conn:
        _configure_and_run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
