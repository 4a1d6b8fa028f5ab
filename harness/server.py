"""A real ``bokeh serve app`` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["APP_DIR", "ServerProcess", "free_port"]

APP_DIR = Path(__file__).resolve().parent.parent / "app"
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m bokeh serve app`` with the given server options and app arguments.

    ``environment`` adds variables to this process's environment for the server
    (``BOKEH_SECRET_KEY`` for signed session ids, for example).
    """

    def __init__(
        self,
        app_args: Sequence[str] = (),
        server_args: Sequence[str] = (),
        *,
        app_dir: Path = APP_DIR,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}/{app_dir.name}"
        self.log_path = Path(tempfile.mkstemp(prefix="bokeh-serve-", suffix=".log")[1])
        self.command = [
            sys.executable,
            "-m",
            "bokeh",
            "serve",
            str(app_dir),
            "--address",
            LOOPBACK,
            "--port",
            str(self.port),
            f"--allow-websocket-origin={LOOPBACK}:{self.port}",
            *server_args,
        ]
        if app_args:
            self.command += ["--args", *app_args]
        self.environment = dict(environment or {})
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ServerProcess:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.environment}
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:  # a TCP connect, not a GET: a GET of the app would create a session
                socket.create_connection((LOOPBACK, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"server not accepting connections after {timeout} s:\n{self.log()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int | None:
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
        if kind is None:
            os.unlink(self.log_path)
