"""Close the uploads of every form a request parsed, once the request has ended.

Starlette spools each file part to a temporary file that only `FormData.close()` closes; our
handlers parse their forms themselves (`protocol/forms.read_form`), so nothing else would,
and the files would wait for the garbage collector. The app returns only after any work
reading an upload has ended (`WorkQueue.run` waits for its thread; so does `WorkResponse`),
so closing here never pulls a file from under a worker.
"""

from __future__ import annotations

import anyio
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.protocol.forms import FORMS_KEY


class FormsMiddleware:
    """After the app has answered (or failed), close the forms the request parsed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        finally:
            forms: list[FormData] = scope.get(FORMS_KEY, [])
            with anyio.CancelScope(shield=True):
                for form in forms:
                    await form.close()
