"""A limit on request bodies, enforced before they are read (413 problem+json)."""

from collections.abc import Sequence

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PayloadTooLarge
from shared.i18n import t
from shared.problem_handlers import render_problem


class BodySizeLimit:
    """Refuse bodies over the limit before reading them all (413 problem+json)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_paths: Sequence[str] = (),
        max_upload_bytes: int = 0,
    ) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.upload_paths, self.max_upload_bytes = tuple(upload_paths), max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = (
            self.max_upload_bytes
            if path.startswith(self.upload_paths) and self.upload_paths
            else self.max_bytes
        )
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        # A body sent without Content-Length (chunked) is counted as it arrives. The error
        # raised on crossing the limit reaches whatever reads the body, and a framework may
        # turn it into its own answer (FastAPI: 400 "error parsing the body"); once the limit
        # is crossed, the answer is 413 whatever the application makes of it.
        exceeded = False
        started = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise PayloadTooLarge(t("the request body exceeds {limit} bytes", limit=limit))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if message["type"] == "http.response.start":
                started = True
                if exceeded:
                    replaced = True
                    await self._refuse(scope, receive, send, limit)
                    return
            if replaced:
                return  # the application's own answer, already replaced by the 413
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except PayloadTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = PayloadTooLarge(t("the request body exceeds {limit} bytes", limit=limit))
        await render_problem(Request(scope), error)(scope, receive, send)
