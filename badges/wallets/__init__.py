"""Teachers and where their badges go: accounts and sign-in (`teachers`, `mail`, `claims`),
files and links (`exports`), the OB 3.0 API backpack and its apps (`backpack`,
`ob_clients`, `ob_profiles`), wallets over OpenID4VCI and VC-API exchanges (`oid4vci*`,
`wallet_*`), and her progress toward her agencies' stacks (`teacher_progress`).

Imports: every other `badges` package, and `formats`, `net`, `keys`, `schemas`, `storage`.
"""
