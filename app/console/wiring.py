"""The console's routes and failure pages, added to the app by `install`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from app.console import (
    achievements,
    agency,
    batches,
    integrations,
    issue_one,
    issued,
    provider,
    setup,
    sign_in,
)
from app.console.auth import HANDLERS

# Each console area's router; a new area adds its own here.
ROUTERS: tuple[APIRouter, ...] = (
    sign_in.router,
    setup.router,
    provider.router,
    achievements.router,
    issue_one.router,
    issued.router,
    integrations.router,
    batches.router,
    agency.router,
)


def install(app: FastAPI) -> None:
    for error, handler in HANDLERS:
        app.add_exception_handler(error, handler)
    for router in ROUTERS:
        app.include_router(router)
