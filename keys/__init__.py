"""Key encodings (Multikey, did:key) and W3C Data Integrity proofs for Lattice's credentials."""
