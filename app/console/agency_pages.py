"""The agency console's areas: each a router under `/console/agencies/{agency_id}`, and each
page rendered naming the agency and marking its area in the navigation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from app.console.agency_views import area
from app.console.auth import AgencyContext, page


def agency_router(section: str = "") -> APIRouter:
    """The routes of one area (`/vetting`, `/stacks`, ...; "" the overview), not in the
    API's OpenAPI document."""
    prefix = area("{agency_id}", section)  # the path parameter the context dependency reads
    return APIRouter(prefix=prefix, tags=["console"], include_in_schema=False)


def agency_page(
    who: AgencyContext, template: str, section: str = "", status_code: int = 200, **context: Any
) -> Response:
    """`page` with what the agency templates' frame reads: `agency`, `agency_name` and
    `area`, the address of the section (`/vetting`, `/stacks`, ...) the navigation marks."""
    return page(
        who,
        template,
        status_code,
        agency=who.agency,
        agency_name=who.issuer.name,
        area=area(who.agency.id, section),
        **context,
    )


def missing(who: AgencyContext, message: str) -> Response:
    """The 404 page for something the agency does not have (a stack, a request, ...)."""
    return page(who, "console/problem.html", 404, heading="Not found", message=message)
