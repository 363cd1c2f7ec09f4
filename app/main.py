"""The FastAPI application: routers, error rendering, body limits, service lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import imsx, openapi, problems
from app.console.wiring import install as install_console
from app.foreign_status import sweep_periodically
from app.heap import freeze_start_up_objects
from app.issue_batches import BatchRunner
from app.limits import BodySizeLimit, NestingLimit
from app.routers import (
    docs,
    health,
    pages,
    webhooks,
)
from app.routers.issuing import (
    achievements,
    badge_images,
    credentials,
    issued,
    issuers,
    oauth,
    status,
)
from app.routers.policy import (
    agency,
    criteria,
    curated_list,
    districts,
    providers,
    stacks,
    state_queries,
    vetting,
)
from app.routers.verification import (
    vc_api_verify,
    verify,
)
from app.routers.wallets import (
    ob_api,
    ob_oauth,
    teacher,
    wallets,
)
from app.settings import Settings, get_settings
from app.state import ServiceState, build_state
from badges.issuing.csv_batch import MAX_FILE_BYTES
from badges.webhooks.delivery import (
    DeliveryConfig,
    DeliveryWorker,
)


def create_app(settings: Settings | None = None, state: ServiceState | None = None) -> FastAPI:
    """Build the app; tests pass their own settings (and may share one state)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state is None:
            service = build_state(settings)
            # The service owns this process (tests share theirs): settle its heap.
            freeze_start_up_objects()
        else:
            service = state
        app.state.lattice = service
        # In the background: the service answers at once while the signing workers start.
        warming = asyncio.create_task(service.signer.warm_up())
        # Webhooks are sent from the outbox by this task, never by the request that caused them.
        worker = DeliveryWorker(service.sessions, service.vault, _delivery_config(service.settings))
        delivering = asyncio.create_task(worker.run())
        background = [delivering]
        every = service.settings.foreign_status_sweep_seconds
        if every > 0:
            background.append(asyncio.create_task(sweep_periodically(service, every)))
        # Confirmed CSV batches go on issuing where the last run of the service stopped.
        batches = app.state.issue_batches = BatchRunner(service)
        batches.resume_soon()
        try:
            yield
        finally:
            await batches.close()
            warming.cancel()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if state is None:
                await service.close()

    app = FastAPI(
        title="Lattice",
        summary="Open Badges 3.0 micro-credentials for educators: issue, verify, stack.",
        version="0.1.0",
        lifespan=lifespan,
        # Served by app.routers.docs from an installed package, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    if state is not None:
        app.state.lattice = state
    openapi.install(app, settings.public_url)
    problems.install(app)
    imsx.install(app)  # after problems: the OB 3.0 API (/ims/...) answers Imsx_StatusInfo
    app.add_exception_handler(teacher.SignInRequired, teacher.sign_in_redirect)
    for module in (
        oauth,
        ob_oauth,
        ob_api,
        issuers,
        achievements,
        badge_images,
        credentials,
        issued,
        status,
        verify,
        vc_api_verify,
        webhooks,
        agency,
        vetting,
        criteria,
        districts,
        providers,
        curated_list,
        state_queries,
        stacks,
        teacher,
        wallets,
        health,
        pages,
        docs,
    ):
        app.include_router(module.router)
    install_console(app)
    # The last added runs first: a body over the size limit is cut off before its nesting
    # is read.
    app.add_middleware(NestingLimit)
    app.add_middleware(BodySizeLimit, limit_for=_body_limits(settings))
    return app


def _delivery_config(settings: Settings) -> DeliveryConfig:
    return DeliveryConfig(
        public_url=settings.public_url,
        poll_seconds=settings.webhook_poll_seconds,
        retry_base_seconds=settings.webhook_retry_base_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
        allow_private=settings.webhooks_allow_private,
    )


def _body_limits(settings: Settings) -> Callable[[str], int]:
    def limit_for(path: str) -> int:
        if path.endswith(("/credentials:batch", "/v1/verify:batch")):
            return settings.max_batch_body_bytes
        if path.startswith("/console/issuers/") and path.endswith("/batches"):
            # Room for a CSV twice the largest read, so a file too big is refused on the
            # form (beside its field), not by this limit.
            return max(settings.max_body_bytes, 2 * MAX_FILE_BYTES + 65_536)
        return settings.max_body_bytes

    return limit_for
