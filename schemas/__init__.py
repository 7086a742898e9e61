"""Data only: official XSDs, compiled schematron XSLTs, DTDs and code lists (see INDEX.toml)."""
