"""The REST API under /api/v1: problem details (``problems``), API-key auth (``auth``)."""
