"""A webhook receiver over real HTTP for the tests and the benchmark: a threading http.server on
127.0.0.1 and a free port, which checks each POST's signature by the README's recipe.

`secret` may name several secrets, comma-separated: a POST signed with any of them is good.
`mode` says how it answers: "ok" (204), "error" (500), "redirect" (302 elsewhere), "slow"
(holds the answer until `release` is set or 30 s pass: a receiver that times out). Every POST
is kept in `received` with whether its signature held.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, headers, body: bytes, *, tolerance: int = 300) -> bool:
    """The README's receiver, word for word in substance: signature over "<timestamp>.<body>",
    compared in constant time, and no timestamp older than five minutes."""
    timestamp = headers.get("Webhook-Timestamp", "")
    sent = headers.get("Webhook-Signature", "").removeprefix("v1=")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected.hexdigest(), sent)


@dataclass(frozen=True)
class Received:
    event_id: str
    payload: dict
    signature_ok: bool
    headers: dict


class Receiver:
    """The receiver; `start()` serves it in a thread, `python -m tests.webhook_receiver SECRETS`
    in a process of its own (it prints its URL, then serves until stdin closes)."""

    def __init__(self, secret: str = "", mode: str = "ok") -> None:
        self.secret = secret
        self.mode = mode
        self.received: list[Received] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def ids(self) -> list[int]:
        with self._lock:
            return [int(r.event_id) for r in self.received]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                """How many came and how many were not signed right (for the benchmark)."""
                with receiver._lock:
                    stats = {
                        "received": len(receiver.received),
                        "bad_signatures": sum(not r.signature_ok for r in receiver.received),
                    }
                self._answer(200, json.dumps(stats).encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            event_id=self.headers.get("Webhook-Id", ""),
                            payload=json.loads(body),
                            signature_ok=any(
                                verify(secret, self.headers, body)
                                for secret in receiver.secret.split(",")
                            ),
                            headers=dict(self.headers),
                        )
                    )
                mode = receiver.mode
                if mode == "slow":
                    receiver.release.wait(30)
                if mode == "redirect":
                    self._answer(302, b"", location="http://127.0.0.1:9/elsewhere")
                elif mode == "error":
                    self._answer(500, b"<b>down</b> for maintenance")
                else:
                    self._answer(204, b"")

            def _answer(self, status: int, body: bytes, location: str = "") -> None:
                try:
                    self.send_response(status)
                    if location:
                        self.send_header("Location", location)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if body:
                        self.wfile.write(body)
                except OSError:  # the sender gave up waiting (the "slow" mode)
                    self.close_connection = True

        return Handler


if __name__ == "__main__":
    import sys

    served = Receiver(secret=sys.argv[1]).start()
    print(served.url, flush=True)
    sys.stdin.read()
    served.stop()
