"""The matcher: pure code that finds registered marks, and disguises of them, in listing text.

It imports nothing from ``db``, ``tasks``, ``crawler``, ``web``, Scrapy, Celery or SQLAlchemy.
"""
