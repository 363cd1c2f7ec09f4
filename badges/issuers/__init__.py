"""Issuer organisations: their public OB 3.0 `Profile`, DIDs and signing keys
(`issuers`), and the provider machine clients that act for them (`clients`).

Imports: `badges.errors`, and `keys`, `schemas`, `storage`.
"""
