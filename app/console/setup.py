"""First-run setup in the browser: the link `lattice serve` prints while nobody has a staff
account opens a form for the organisation's name and its admin's address; submitting it
creates both (`badges.issuers.setup`) and mails the admin a sign-in code, and the usual
sign-in goes on from there. Once anyone has an account, /console/setup is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import APIRouter, Form, Request, Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from app.console.auth import address_of, anonymous_page
from app.console.sign_in import anonymous_csrf, anonymous_csrf_ok, mail_code, with_csrf_cookie
from app.deps import Session, State
from badges.errors import DomainError, InvalidInput, NotFound
from badges.issuers.setup import complete_setup, setup_open, staff_exists
from schemas.api.base import TextLine

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)
_LINE: TypeAdapter[str] = TypeAdapter(TextLine)
_NAME_LENGTH: Final = 200  # the issuer's name column


@dataclass(frozen=True)
class SetupForm:
    organisation: str = ""
    email: str = ""


def _checked(form: SetupForm) -> tuple[str, str]:
    """The organisation's name and the admin's address, or the field at fault."""
    name = form.organisation.strip()
    try:
        _LINE.validate_python(name)
    except ValidationError:
        raise InvalidInput("the name must be one line of text", field=("organisation",)) from None
    if not name:
        raise InvalidInput("enter the organisation's name", field=("organisation",))
    if len(name) > _NAME_LENGTH:
        raise InvalidInput(
            f"the name can be at most {_NAME_LENGTH} characters", field=("organisation",)
        )
    try:
        email = _EMAIL.validate_python(form.email.strip())
    except ValidationError:
        raise InvalidInput("enter your e-mail address", field=("email",)) from None
    return name, email


def _closed(staff: bool) -> Response:
    """Setup is over (a 404 like any page that is not there), or this link is not the one."""
    if staff:
        message = "There is nothing here. To sign in to the console, use the sign-in page."
    else:
        message = (
            "This setup link was used already, or a newer one has replaced it: each start of "
            "the service prints a new one on its log until the setup is done."
        )
    return anonymous_page("console/problem.html", 404, heading="Not found", message=message)


def _form(
    request: Request,
    state: State,
    token: str,
    form: SetupForm,
    status_code: int = 200,
    error: DomainError | None = None,
) -> Response:
    csrf = anonymous_csrf(request)
    response = anonymous_page(
        "console/setup.html",
        status_code,
        token=token,
        form=form,
        csrf=csrf,
        public_url=state.settings.public_url,
        error=error.detail if error else None,
        error_field=str(error.field[0]) if error and error.field else None,
    )
    return with_csrf_cookie(response, state, csrf)


@router.get("/setup")
async def setup_form(request: Request, session: Session, state: State, token: str = "") -> Response:
    """Name the organisation and its admin (only with the newest link, before anyone has an
    account)."""
    if not await setup_open(session, token):
        return _closed(await staff_exists(session))
    return _form(request, state, token, SetupForm())


Text = Annotated[str, Form(max_length=2_000)]


@router.post("/setup")
async def set_up(
    request: Request,
    session: Session,
    state: State,
    token: Text = "",
    csrf: Text = "",
    organisation: Text = "",
    email: Text = "",
) -> Response:
    """Create the organisation (the first issuer) and its admin, then mail her a code."""
    form = SetupForm(organisation, email)
    if not anonymous_csrf_ok(request, csrf):
        return _form(request, state, token, form, 403, InvalidInput("The form expired; try again."))
    try:
        name, address = _checked(form)
    except InvalidInput as error:
        return _form(request, state, token, form, 422, error)
    try:
        issuer = await complete_setup(session, state.vault, token, name, address_of(state, address))
    except NotFound:
        return _closed(await staff_exists(session))
    except DomainError as error:
        # Nothing of it may stay: the link, spent by now, must work again.
        await session.rollback()
        return _form(request, state, token, form, error.status_code, error)
    where = (
        ""
        if state.mailer.smtp
        else " No mail server is set, so the e-mail is on the service's log."
    )
    notice = (
        f"{issuer.name} is set up, and you are its admin. We e-mailed you a sign-in code.{where}"
    )
    return await mail_code(
        request, session, state, address, f"/console/issuers/{issuer.slug}", csrf, notice
    )
