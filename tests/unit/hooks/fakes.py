"""A scripted transport adapter: the hooks' own code runs, no socket is opened."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import BaseAdapter

Reply = BaseException | tuple[int, Any] | tuple[int, Any, dict[str, str]]


class ScriptedAdapter(BaseAdapter):
    """Answers each request with the next scripted reply (an exception is raised instead).

    The last reply repeats once the script runs out; ``requests`` keeps what was sent.
    """

    def __init__(self, replies: list[Reply] | Callable[[requests.PreparedRequest], Reply]) -> None:
        super().__init__()
        self.replies = replies
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.requests.append(request)
        if callable(self.replies):
            reply = self.replies(request)
        else:
            reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, BaseException):
            raise reply
        status, body, *rest = reply
        response = requests.Response()
        response.status_code = status
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.headers.update({"Content-Type": "application/json", **(rest[0] if rest else {})})
        response.url = request.url or ""
        response.request = request
        response.reason = "scripted"
        return response

    def close(self) -> None:
        pass


def mount(session: requests.Session, adapter: ScriptedAdapter) -> ScriptedAdapter:
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter
