"""A real SAMP hub (pyvo.samp) on loopback (web profile off, lock file in a temporary folder) and a receiving client
that records every notification, for the SAMP tests. Nothing here reaches beyond 127.0.0.1."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

from pyvo.samp import SAMPHubServer, SAMPIntegratedClient
from pyvo.samp.lockfile_helpers import read_lockfile


class Recorder:
    """A SAMP client (think TOPCAT) subscribed to tables and sky positions; ``messages`` holds (mtype, params)."""

    MTYPES = ("table.load.votable", "coord.pointAt.sky")

    def __init__(self, lockfile: Path) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.event = threading.Event()
        self.client = SAMPIntegratedClient(name="recorder (test TOPCAT)", addr="127.0.0.1")
        self.client.connect(hub_params=read_lockfile(str(lockfile)))
        for mtype in self.MTYPES:
            self.client.bind_receive_notification(mtype, self._got)

    def _got(self, private_key, sender_id, mtype, params, extra) -> None:
        self.messages.append((mtype, dict(params)))
        self.event.set()

    def wait(self, mtype: str, timeout: float = 20.0) -> dict:
        t0 = time.time()
        while time.time() - t0 < timeout:
            for m, p in self.messages:
                if m == mtype:
                    return p
            self.event.wait(0.2)
            self.event.clear()
        raise AssertionError(f"no {mtype} received in {timeout} s; got {[m for m, _ in self.messages]}")

    def close(self) -> None:
        self.client.disconnect()


@contextmanager
def samp_hub(folder: Path):
    """(lock file, SAMP_HUB value, Recorder): a running hub and one receiving client."""
    lock = Path(folder) / "samp.lock"
    hub = SAMPHubServer(addr="127.0.0.1", lockfile=str(lock), web_profile=False)
    hub.start(wait=False)
    rec = None
    try:
        rec = Recorder(lock)
        yield lock, f"std-lockurl:{lock.resolve().as_uri()}", rec
    finally:
        if rec is not None:
            rec.close()
        hub.stop()
