"""The issuing domain: issuers and their keys, achievements, recipients, credentials."""
