"""Alembic environment, versions and the `run_bot.py db ...` commands."""
