"""Whether a credential issued here still stands: allocating status entries and signing the
Bitstring Status Lists (`status_lists`), revoking, suspending and the event history
(`status_changes`), wallet copies, which carry their original's status (`copies`), and
marking the educators whose completions a change may alter (`completion_marks`).

Imports: `badges.webhooks`, `badges.issuers`, `badges.errors`, and `formats`, `keys`,
`schemas`, `storage`.
"""
