"""The ops console: server-rendered HTML pages at /console for ops and intake staff."""

from api.console.routes import router

__all__ = ["router"]
