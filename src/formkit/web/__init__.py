"""formkit's local web pages (the clerk's desk): ``formkit serve`` and ``formkit-desk``."""

from formkit.web.app import create_app, serve

__all__ = ["create_app", "serve"]
