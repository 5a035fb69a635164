"""Several instances of a site, one key list: real server processes accept each other's cookies.

Each server below is its own uvicorn process on 127.0.0.1 serving the test site with `policy="hard"`, so whether a
cookie was accepted shows in the page: the wall for a reader known to block, the article otherwise. The last test
runs `bench/load.py` for a few seconds as a smoke test of the load test itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ..site import CHROME

ROOT = Path(__file__).resolve().parent.parent.parent
OLD = "old-key-0123456789-abcdefghijklmnop"
NEW = "new-key-0123456789-abcdefghijklmnop"
SIGNALS = {"cosmetic": "blocked", "script": "blocked", "image": "blocked"}

SERVER = """
import json, os, sys

import uvicorn

from tests.site import wrapped

app = wrapped(secret_key=json.loads(os.environ["KEYS"]), policy="hard")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


class Instance:
    """One server process, and what a reader's browser would send it."""

    def __init__(self, keys: list[str]) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "KEYS": json.dumps(keys), "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen([sys.executable, "-c", SERVER, str(self.port)], cwd=ROOT, env=env)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server with keys {keys} did not start") from None
                time.sleep(0.05)
        with httpx.Client(base_url=self.base) as c:
            script = c.get("/news/1").text.split('<script src="', 1)[1].split('"', 1)[0]
        self.prefix = script.rsplit("/", 1)[0]  # the neutral prefix this instance derived from its oldest key

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.process.kill()

    def beacon_cookie(self, beacon_name: str) -> str:
        """Report a blocked reader here; return the signed state cookie (name=value) this instance sets."""
        with httpx.Client(base_url=self.base, headers={"User-Agent": CHROME}) as c:
            response = c.post(
                f"{self.prefix}/{beacon_name}",
                json={"signals": SIGNALS, "path": "/news/1"},
                headers={"Origin": self.base, "Sec-Fetch-Site": "same-origin"},
            )
        assert response.status_code == 200, response.text
        signed = response.headers.get_list("set-cookie")[0]
        return signed.split(";", 1)[0]

    def walls(self, cookie: str) -> bool:
        """Whether this instance recognises the cookie as a blocking reader's (and so serves the hard wall)."""
        with httpx.Client(base_url=self.base, headers={"User-Agent": CHROME, "Cookie": cookie}) as c:
            page = c.get("/news/1")
        assert page.status_code == 200
        return "<article>" not in page.text


Start = Callable[[list[str]], Instance]


@pytest.fixture
def start() -> Iterator[Start]:
    instances: list[Instance] = []

    def launch(keys: list[str]) -> Instance:
        instance = Instance(keys)
        instances.append(instance)
        return instance

    yield launch
    for instance in instances:
        instance.stop()


def beacon_name(keys: list[str]) -> str:
    from adguard_mw.names import Names

    return Names.derive(keys[0]).beacon


def test_instances_sharing_a_key_list_accept_each_others_cookies(start: Start) -> None:
    a, b = start([OLD, NEW]), start([OLD, NEW])
    assert a.prefix == b.prefix  # the same neutral names everywhere: the detector's URLs work on either
    from_a = a.beacon_cookie(beacon_name([OLD]))
    from_b = b.beacon_cookie(beacon_name([OLD]))
    assert b.walls(from_a) and a.walls(from_b)
    assert not a.walls("theme=dark")  # and a reader without the cookie reads freely


def test_a_key_rotation_rolled_out_one_instance_at_a_time(start: Start) -> None:
    """A still has only the old key; B already has the new one too (and signs with it)."""
    a, b = start([OLD]), start([OLD, NEW])
    assert a.prefix == b.prefix  # names derive from the oldest key, so adding a key changes no URL
    signed_old = a.beacon_cookie(beacon_name([OLD]))
    signed_new = b.beacon_cookie(beacon_name([OLD]))
    assert b.walls(signed_old) and b.walls(signed_new)  # B accepts cookies from before and after the rotation
    assert a.walls(signed_old)
    assert not a.walls(signed_new)  # A cannot verify the new key's signature: that reader is simply new there


def test_the_load_test_runs_and_counts_no_errors() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--seconds", "2", "--clients", "4", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    for server in ("bare", "adguard"):
        assert result[server]["requests"] > 0 and result[server]["errors"] == 0
        assert result[server]["rss_end_mb"] > 0
    assert set(result["adguard"]["by_kind"]) == {"page", "stylesheet", "detector", "beacon"}
