"""Alembic environment of the store (run through ``Store.migrate``; no alembic.ini needed)."""
