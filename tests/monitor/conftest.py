"""The monitor's tests serve its routes in-process on a real socket (``serve_app``)."""

from tests.served_app import serve_app

__all__ = ["serve_app"]
