"""Outgoing e-mail: always recorded in the outbox table, sent by SMTP when configured.

In development (no SMTP host) the whole message, sign-in code or claim link included, is
written to the log (logger `lattice.mail`, on the service's output) and kept in the outbox,
which is where a developer, or a test, reads a sign-in code. With an SMTP host a message
body never reaches the log: it holds credentials for the recipient's account.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxEmail

logger = logging.getLogger("lattice.mail")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool


@dataclass(frozen=True)
class Mailer:
    sender: str
    smtp: SmtpSettings | None = None

    async def send(self, session: AsyncSession, to: str, subject: str, body: str) -> OutboxEmail:
        row = OutboxEmail(recipient=to, subject=subject, body=body)
        session.add(row)
        if self.smtp is None:
            logger.info(
                "mail to %s (no SMTP server set: shown here, not sent): %s\n%s", to, subject, body
            )
            row.sent_at = datetime.now(UTC)
        else:
            try:
                await asyncio.to_thread(self._deliver, to, subject, body)
                row.sent_at = datetime.now(UTC)
            except (OSError, smtplib.SMTPException) as error:
                logger.warning("mail to %s failed: %s", to, error)
                row.error = str(error)
        await session.flush()
        return row

    def _deliver(self, to: str, subject: str, body: str) -> None:
        if self.smtp is None:
            raise RuntimeError("no SMTP server is configured")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(body)
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=10) as client:
            if self.smtp.starttls:
                client.starttls()
            if self.smtp.username and self.smtp.password:
                client.login(self.smtp.username, self.smtp.password)
            client.send_message(message)
