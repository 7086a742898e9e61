"""Interactive API documentation served from an installed package, never a CDN (the machine and
many customer networks have no internet): Swagger UI at ``/docs`` and ReDoc at ``/redoc``,
their scripts and styles at ``/docs/static`` from the ``fastapi-offline`` package's copy of
swagger-ui-dist 5 (the first Swagger UI line that renders OpenAPI 3.1) and ReDoc 2.

``fastapi-offline`` is used for its files only: its ``FastAPIOffline`` factory builds a plain
``FastAPI`` app, while ours is :class:`gateway.web.app._GatewayApp`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from gateway.errors import ConfigError

DOCS_URL, REDOC_URL, STATIC_URL = "/docs", "/redoc", "/docs/static"
STATIC_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def static_folder() -> Path:
    """The installed folder holding the Swagger UI and ReDoc files; ConfigError naming the
    package to install when it is missing."""
    try:
        folder = Path(str(files("fastapi_offline") / "static"))
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "the API docs need the package fastapi-offline (pip install fastapi-offline)"
        ) from exc
    missing = [name for name in STATIC_FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"{folder}: {', '.join(missing)} missing (reinstall fastapi-offline)")
    return folder


def install_docs(app: FastAPI, openapi_url: str, title: str) -> None:
    """Serve ``/docs`` (Swagger UI), ``/redoc`` and their files for the document at
    ``openapi_url``; every URL the pages load is on this server."""
    app.mount(STATIC_URL, StaticFiles(directory=static_folder()), name="docs-static")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API",
            swagger_js_url=f"{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_URL}/favicon.png",
            oauth2_redirect_url=None,
            # no badge fetched from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - API",
            redoc_js_url=f"{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )
