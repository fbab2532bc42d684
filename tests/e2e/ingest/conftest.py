"""A real `cardtrace serve` subprocess on 127.0.0.1 (a free port), with tokens for every role."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from ingest.tokens import ROLES, issue_token
from projections.data_dir import DataDir
from projections.store import EventStore


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """One `cardtrace --data DIR serve` process; restartable on the same data directory."""

    data: DataDir
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    own_session: bool = False  # a process group of its own, as a terminal's foreground job (Ctrl-C reaches all)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.log_path = self.data.root / f"serve-{time.monotonic_ns()}.log"
        self.data.root.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "apps.cli.main",
            "--data",
            str(self.data.root),
            "serve",
            "--port",
            str(self.port),
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
                start_new_session=self.own_session,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cardtrace serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"cardtrace serve did not become healthy in {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit code once it has drained and sealed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


@dataclass(frozen=True)
class Plant:
    server: Server
    tokens: dict[str, str]

    def client(self, role: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=30.0)


def issue_all(data: DataDir) -> dict[str, str]:
    tokens = {role: issue_token(data, role, subject=f"{role}-e2e") for role in ROLES}
    tokens["operator@PRESS-2"] = issue_token(data, "operator", subject="OP-5", station="PRESS-2")
    return tokens


def _serve(data: DataDir) -> Iterator[Plant]:
    tokens = issue_all(data)
    server = Server(data=data)
    server.start()
    try:
        yield Plant(server=server, tokens=tokens)
    finally:
        if server.process is not None:
            # SIGTERM: the server drains, seals every acknowledged event into the lake and exits 0.
            assert server.stop() == 0, server.log()
            with EventStore(data, read_only=True) as store:
                health = store.health()
            assert health["sealed_sequence"] == health["last_sequence"], health


@pytest.fixture(scope="session")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    """One server for the journey, the authorization matrix and the limits (they stay out of each other's ids)."""
    data = DataDir(root=tmp_path_factory.mktemp("plant") / "data")
    data.root.mkdir(parents=True)
    yield from _serve(data)


@pytest.fixture(scope="module")
def own_plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    """A server of the module's own, for tests that write whatever they like (fuzzing)."""
    data = DataDir(root=tmp_path_factory.mktemp("own-plant") / "data")
    data.root.mkdir(parents=True)
    yield from _serve(data)
