"""A real Mosquitto broker as a child process, on a free port, in its own folder (lab
benchmarks and demo; the tests use it through tests/support/mosquitto.py).

    with Mosquitto(tmp_path / "broker") as broker:           # plain listener, anonymous
        ...broker.host, broker.port, broker.url...
    with Mosquitto(folder, config=TLS_CONF, files={"ca.crt": pem, ...}) as broker:
        broker.stop(); broker.start()                         # chaos: same port, same data
        broker.kill()                                         # SIGKILL, no persistence save

The configuration text may use `{port}` and `{dir}` (replaced literally, so other braces are
fine); `files` are written into the folder first (certificates, ACL, password files). A config
without a `persistence_location` gets the folder; running as root, `user root` is added (otherwise
mosquitto 2 drops to the `mosquitto` user and cannot read a pytest tmp folder).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

MOSQUITTO = Path(os.environ.get("POH_MOSQUITTO", "/usr/sbin/mosquitto"))

# Anonymous plain listener on loopback with persistence; for tests of the transport itself.
PLAIN_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {dir}/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 0
"""


def free_port() -> int:
    """A TCP port nothing listens on right now (the broker binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BrokerError(RuntimeError):
    pass


class Mosquitto:
    def __init__(self, folder: Path, config: str = PLAIN_CONF,
                 files: dict[str, bytes | str] | None = None, port: int | None = None,
                 host: str = "127.0.0.1") -> None:
        if not MOSQUITTO.is_file():
            raise BrokerError(f"mosquitto not found at {MOSQUITTO} (apt-get install mosquitto)")
        self.folder = folder
        self.host = host
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "mosquitto.log"
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in (files or {}).items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                path.write_bytes(content)
            path.chmod(0o600)
        text = config.replace("{port}", str(self.port)).replace("{dir}", str(folder))
        if "persistence_location" not in text:
            text += f"persistence_location {folder}/\n"
        if os.geteuid() == 0 and not any(line.strip().startswith("user ")
                                         for line in text.splitlines()):
            text += "user root\n"
        self.conf_path = folder / "mosquitto.conf"
        self.conf_path.write_text(text, encoding="utf-8")

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        if self.running:
            return
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen([str(MOSQUITTO), "-c", str(self.conf_path)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise BrokerError(f"mosquitto exited with {self.proc.returncode}: "
                                  f"{self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(
                    (self.host, self.port), timeout=0.5):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise BrokerError(f"mosquitto did not accept connections on {self.port}: "
                                  f"{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM: mosquitto saves its persistence file and closes every connection."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: whatever was not autosaved is gone (as after a power cut)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-n:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


@contextlib.contextmanager
def running_broker(folder: Path, config: str = PLAIN_CONF,
                   files: dict[str, bytes | str] | None = None) -> Iterator[Mosquitto]:
    with Mosquitto(folder, config, files) as broker:
        yield broker

