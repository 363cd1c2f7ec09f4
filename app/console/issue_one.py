"""Issue one badge from a form: the same `issue_credential` the API runs, through the
issuer's console client (as CSV batches are), so the `issued` event names the console."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import APIRouter, Form, Response
from fastapi.responses import RedirectResponse
from pydantic import EmailStr, TypeAdapter, ValidationError

from app.console.auth import ProviderContext, ProviderStaff, check_csrf, page
from app.console.provider import area
from app.deps import Session, State
from app.pages import http_url
from app.routers.issuing.credentials import claim_context
from badges.errors import DomainError, InvalidInput
from badges.issuing.achievements import list_achievements
from badges.issuing.console_client import console_client
from badges.issuing.credential_document import Evidence
from badges.issuing.issuing import Award, issue_credential
from badges.issuing.recipients import Recipient
from badges.wallets.claims import Claim, send_claims

router = APIRouter(tags=["console"], include_in_schema=False)
_PATH: Final = "/console/issuers/{slug}/issue"
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


@dataclass(frozen=True)
class IssueForm:
    achievement: str = ""
    email: str = ""
    name: str = ""
    evidence_url: str = ""
    evidence_narrative: str = ""
    # E-mail the recipient a one-time claim link, as the API's `notifyRecipient` does.
    notify: bool = False


def _award(form: IssueForm) -> Award:
    try:
        achievement = uuid.UUID(form.achievement)
    except ValueError:
        raise InvalidInput("choose the achievement to award", field=("achievement",)) from None
    try:
        email = _EMAIL.validate_python(form.email.strip())
    except ValidationError:
        raise InvalidInput("enter the recipient's e-mail address", field=("email",)) from None
    name = form.name.strip()
    if len(name) > 300 or any(ord(c) < 32 for c in name):
        raise InvalidInput("the name must be one line of at most 300 characters", field=("name",))
    url = form.evidence_url.strip()
    if url and (not http_url(url) or len(url) > 2000):
        raise InvalidInput(
            "the evidence URL must start with https:// or http://", field=("evidence_url",)
        )
    narrative = form.evidence_narrative.strip()
    if len(narrative) > 10_000:
        raise InvalidInput("at most 10,000 characters", field=("evidence_narrative",))
    evidence = (Evidence(url or None, narrative=narrative or None),) if url or narrative else ()
    return Award(
        achievement_id=achievement,
        recipient=Recipient(email=email, name=name or None),
        evidence=evidence,
    )


async def _form(
    who: ProviderContext,
    session: Session,
    form: IssueForm,
    error: DomainError | None = None,
) -> Response:
    choices = await list_achievements(session, who.issuer)
    return page(
        who,
        "console/issue_one.html",
        422 if error else 200,
        issuer=who.issuer,
        area=area(who, "/issue"),
        form=form,
        achievements=choices,
        error=error.detail if error else None,
        error_field=str(error.field[0]) if error and error.field else None,
    )


@router.get(_PATH)
async def issue_form(who: ProviderStaff, session: Session, achievement: str = "") -> Response:
    """The form: the achievement, the recipient, optional evidence."""
    return await _form(who, session, IssueForm(achievement=achievement))


Text = Annotated[str, Form(max_length=20_000)]


@router.post(_PATH)
async def issue(
    who: ProviderStaff,
    session: Session,
    state: State,
    csrf: Text = "",
    achievement: Text = "",
    email: Text = "",
    name: Text = "",
    evidence_url: Text = "",
    evidence_narrative: Text = "",
    notify: Text = "",
) -> Response:
    """Sign and store the credential (and, if asked, e-mail the recipient a claim link),
    then show it."""
    check_csrf(who, csrf)
    form = IssueForm(achievement, email, name, evidence_url, evidence_narrative, bool(notify))
    # Read now: issuing ends the request's transaction.
    issuer_slug, issuer_name = who.issuer.slug, who.issuer.name
    try:
        award = _award(form)
        client = await console_client(session, who.issuer)
        issued = await issue_credential(session, state.issuing, who.issuer, client, award)
    except DomainError as error:
        if error.field == ("achievementId",):
            error = InvalidInput(error.detail, field=("achievement",))
        return await _form(who, session, form, error)
    said = "1"
    if form.notify and issued.created and award.recipient.email:
        # As the API does: the credential is committed first, and the mail is best effort.
        await session.commit()
        claim = Claim(award.recipient.email, issued.id, issued.document)
        if await send_claims(session, claim_context(state), issuer_name, [claim]):
            said = "notified"
    return RedirectResponse(
        f"/console/issuers/{issuer_slug}/credentials/{issued.id}?issued={said}", status_code=303
    )
