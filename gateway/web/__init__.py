"""The gateway's web app (FastAPI): the AS2 endpoint, the async MDN receiver and a health check.

:func:`create_app` builds it; ``igw serve`` (:mod:`gateway.web.serve`) runs it with uvicorn.
"""

from gateway.web.app import create_app

__all__ = ["create_app"]
