"""Credential formats that issuing and verification both read and write: baked images
(`baking`), the recipient identity hashes (`identity`), the Bitstring Status List bits
(`bitstring`) and dates as credentials spell them (`dates`).

Imports: nothing of this project but `formats` itself. `badges` (which writes these) and
`verification` (which reads them) import from here, so neither imports the other.
"""
