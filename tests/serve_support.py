"""What the serve tests share: polling, a small HTTP client, and a started Preview."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digestgen.preview import Preview
from digestgen.watch import QUIET_SECONDS

PAPER = "active-prompt-learning-in-vision-language-models"
PAPER_FILE = Path("content/papers") / f"{PAPER}.md"
SUB_BASE = "http://127.0.0.1:8000/repo/"


def wait_until(predicate: Callable[[], object], timeout: float = 10, interval: float = 0.05) -> object:
    """Poll until `predicate()` is truthy; fail the test with its last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s (last value: {value!r})")
        time.sleep(interval)


def settle() -> None:
    """Give the watcher time to deliver any event a step might have caused (for 'nothing happened' checks)."""
    time.sleep(QUIET_SECONDS * 5)


class Client:
    """Requests to a server on loopback at `port`, under the base path `base`."""

    port: int
    base: str

    def get(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def page(self, relative: str) -> tuple[int, str]:
        status, _, body = self.get(self.base + relative)
        return status, body.decode("utf-8")

    def raw(self, request: bytes) -> bytes:
        """Send bytes as they are; the status line and headers of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
            conn.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data

    def raw_status(self, request: bytes) -> int:
        answer = self.raw(request)
        match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
        assert match, f"no HTTP status line in {answer[:200]!r}"
        return int(match.group(1))

    @contextlib.contextmanager
    def events(self) -> Iterator[Callable[[], int]]:
        """Listen to the event stream; yields a function returning the next build number announced."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", self.base + "__digestgen/events")
            response = connection.getresponse()
            assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"

            def next_number() -> int:
                while True:
                    line = response.readline().decode()
                    if line.startswith("data: "):
                        return int(line[6:])

            yield next_number
        finally:
            connection.close()

    def assert_alive(self) -> None:
        status, html = self.page("")
        assert status == 200 and "<html" in html



class Live(Client):
    """A started Preview plus what it printed."""

    def __init__(self, site: Path, base_url: str | None = None):
        self.site = site
        self.out: list[str] = []
        self.err: list[str] = []
        self.warnings: list[str] = []
        self.preview = Preview(
            site, "127.0.0.1", 0, base_url, warn=self.warnings.append, say=self.out.append, tell=self.err.append
        )
        self.preview.start()

    @property
    def port(self) -> int:  # type: ignore[override]
        assert self.preview.httpd is not None
        return self.preview.httpd.server_port

    @property
    def base(self) -> str:  # type: ignore[override]
        return self.preview.state.current().base_path

    @property
    def number(self) -> int:
        return self.preview.state.current().number

    @property
    def root(self) -> Path:
        root = self.preview.state.current().root
        assert root is not None
        return root

    def close(self) -> None:
        self.preview.close()


def set_title(site: Path, title: str) -> None:
    path = site / PAPER_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", text, count=1), encoding="utf-8")


def save_atomically(path: Path, text: str) -> None:
    """Write a hidden temporary file beside `path` and rename it over `path`, as many editors save."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def rebuilds_naming(live: Live, name: str) -> list[str]:
    """The preview's "NAME changed; rebuilt in ..." lines for bursts that began with the file `name`."""
    return [line for line in live.out if line.startswith((f"{name} changed; rebuilt", f"{name} and "))]


def paper_shows(live: Live, text: str) -> bool:
    status, html = live.page(f"papers/{PAPER}/")
    return status == 200 and text in html


