"""Running ``nextbest serve`` in a child process on loopback, for browser tests, screenshots
and the latency benchmark."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx


@contextlib.contextmanager
def serve_in_background(
    config_path: Path, *, api_tokens: str, timeout: float = 30.0
) -> Iterator[str]:
    """Start ``nextbest -c CONFIG serve`` on a free port of 127.0.0.1 with
    ``NEXTBEST_API_TOKENS=api_tokens``; yield its base URL once it answers; stop it after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nextbest", "-c", str(config_path), "serve", "--port", str(port)],
        env={**os.environ, "NEXTBEST_API_TOKENS": api_tokens},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{url}/openapi.json", timeout=1.0)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nextbest serve did not start on {url}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
