"""Alembic revisions of the registry schema (a package so that installs include them)."""
