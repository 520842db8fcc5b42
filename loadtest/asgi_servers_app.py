"""Our app as an ASGI factory for servers that import it by name (`granian --factory`).

`python -m service` builds the app and configures logging itself; a server that imports the app
needs both done here, from the same `SERVING_*` settings, so that it serves the same thing.
"""

from __future__ import annotations

from fastapi import FastAPI

from service.app import create_app
from service.logs import configure_logging
from service.settings import Settings


def app() -> FastAPI:
    """The service's app with `Settings()` from the environment, logging as `python -m service`."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
