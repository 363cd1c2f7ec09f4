"""Dates as credentials write them (XSD `dateTime`, VCDM 2.0 §4.9)."""

from __future__ import annotations

from datetime import UTC, datetime


def xsd_datetime(moment: datetime) -> str:
    """Second precision, `Z`: what JWT NumericDates and every verifier round-trip exactly."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
