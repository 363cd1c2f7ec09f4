"""Bundled JSON-LD contexts and JSON Schemas, and offline JSON-LD processing over them."""
