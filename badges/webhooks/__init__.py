"""Webhooks: subscriptions and the outbox credential events are queued in
(`subscriptions`), and the worker that delivers them, signed (`delivery`).

Imports: `badges.issuers`, `badges.errors`, and `net`, `keys`, `storage`.
"""
