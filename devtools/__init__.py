"""Developer tooling: local servers, the SMTP sink, the manual clock (used by make run and tests, not shipped)."""
