"""The domain of the service, one package per area; FastAPI and `verification` are never
imported here (the app wires them together).

- `issuers`: issuer organisations, their profiles, DIDs and keys, and their API clients.
- `webhooks`: subscriptions and the outbox of credential events, and their delivery.
- `status`: revocation and suspension, the status lists, wallet copies (which share their
  original's status) and the marks that tell state policy who a change touched.
- `issuing`: achievements, the credential document, signing, single, batch and VC-API
  issuance, recipients, results, badge art, verification receipts.
- `policy`: state policy: agencies and purposes, stacks and the rule engine, criteria and
  hold harmless, evaluation and completions, LEAs and their options, vetting, approved
  providers and the curated list, state queries and reports.
- `wallets`: teachers and their accounts, claims, exports, the OB 3.0 API backpack and its
  apps, OpenID4VCI and VC-API exchanges, a teacher's progress.

Imports go up this list only, never down: `wallets` may use every package before it,
`issuers` none of them but `errors`. The import-linter contracts in pyproject.toml hold
every package to it (`lint-imports`, run by scripts/test). Below `badges`: `formats`,
`net`, `keys`, `schemas`, `storage`.
"""
