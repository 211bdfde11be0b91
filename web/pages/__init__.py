"""The server-rendered pages, one router per part of the app."""

from fastapi import APIRouter

from web.pages import accounts, auth, cases, crawls, insight, notices, queue, registry, rules

router = APIRouter(include_in_schema=False)
for part in (auth, queue, cases, notices, insight, crawls, registry, rules, accounts):
    router.include_router(part.router)
