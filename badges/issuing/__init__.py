"""Issuing: achievements and their revisions, recipients, results, the unsigned credential
document, signing, and issuance (single, batch, idempotent; VC-API `supplied`), the
default badge art and verification receipts.

Imports: `badges.status`, `badges.webhooks`, `badges.issuers`, `badges.errors`, and
`formats`, `keys`, `schemas`, `storage`. What state policy adds to a badge (its stack and
lattice alignments) is passed in (`IssuingContext.alignments`).
"""
