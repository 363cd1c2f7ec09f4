"""Pydantic models of the HTTP API (requests and responses), converted to domain values in `app`."""
