"""The web dashboard and HTTP API (`chipswitch serve`): a thin shell over the library."""

from chipswitch.web.app import create_app

__all__ = ["create_app"]
