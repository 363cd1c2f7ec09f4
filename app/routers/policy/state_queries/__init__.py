"""State queries for an agency (scope `reports:read`): full evaluation runs, holders,
educator progress, reports and expiring completions, all under /v1/agency.

Lists are keyset-paginated with an opaque `cursor`, or exported whole with `format=csv`
(streamed). Queries that read completions first re-evaluate, in a transaction of their own,
the agency's educators whose credentials changed since (`refresh_stale`).
"""

from fastapi import APIRouter

from app.routers.policy.state_queries.holders import router as holders
from app.routers.policy.state_queries.progress import router as progress
from app.routers.policy.state_queries.reports import router as reports

router = APIRouter(prefix="/v1/agency", tags=["state queries"])
for part in (holders, progress, reports):
    router.include_router(part)
