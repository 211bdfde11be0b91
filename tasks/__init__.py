"""Celery tasks. Importing the package makes markwatch's app the current Celery app, so the
shared tasks below send through it (the layout Celery's own Django/project guide uses)."""

from tasks.app import app

__all__ = ["app"]
