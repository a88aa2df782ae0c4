"""Send sources to the desktop tools astronomers already have open (TOPCAT, DS9, Aladin) through their SAMP hub.

- ``send_table``: a selection as a VOTable file (units, UCDs, the simulated flag: ``export.to_bytes``) written
  where the hub's clients can read it (a private folder under the system's temporary folder, so this works
  when the explorer runs on the same machine as the hub, which is how SAMP's standard profile is meant), then
  ``table.load.votable`` to every client that subscribes to it.
- ``point_at``: ``coord.pointAt.sky`` (ICRS degrees) to every client, e.g. DS9 or Aladin pan to the source.

The hub is found as SAMP clients find it: ``$SAMP_HUB`` (``std-lockurl:file://…``) or ``~/.samp``; a
``lockfile`` argument names one explicitly. No hub raises ``SampUnavailable`` with what to do, never a trace.
SAMP comes from pyvo.samp, astropy.samp's successor (astropy 8 deprecated its own copy; the same API).
"""
from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.errors import XLEError
from explorer.logic import export

CLIENT_NAME = "X-ray Latent Explorer"
OUT_DIR = Path(tempfile.gettempdir()) / "xle-samp"
MAX_FILES = 50  # keep the newest tables only


class SampUnavailable(XLEError):
    """No SAMP hub reachable (none running, or its lock file unreadable)."""


@dataclass
class Sent:
    mtype: str
    recipients: list[str]  # names of the clients subscribed to the message
    url: str | None = None  # the file the clients were told to load (tables)


def _samp():
    from pyvo import samp  # imported when first used: pyvo's package import is not free

    return samp


def _hub_params(lockfile: str | os.PathLike | None) -> dict:
    samp = _samp()
    from pyvo.samp import lockfile_helpers

    try:
        if lockfile is not None:
            params = lockfile_helpers.read_lockfile(str(lockfile))
            if not params.get("samp.hub.xmlrpc.url"):
                raise samp.SAMPHubError(f"{lockfile} names no hub")
            return params
        return lockfile_helpers.get_main_running_hub()
    except (samp.SAMPHubError, OSError, KeyError) as exc:
        where = lockfile or os.environ.get("SAMP_HUB") or "~/.samp"
        raise SampUnavailable(f"no SAMP hub is running ({where}: {exc}). Start TOPCAT, DS9 (with SAMP on) or "
                              f"Aladin, which start a hub, then send again. The hub is looked for on the machine "
                              f"that runs this app (its ~/.samp): when the app runs elsewhere, point SAMP_HUB there "
                              f"or run the app on your own machine.") from None


def _notify(mtype: str, params: dict, lockfile=None) -> list[str]:
    """Send one notification to all clients subscribed to ``mtype``; their names."""
    samp = _samp()
    hub = _hub_params(lockfile)
    client = samp.SAMPIntegratedClient(name=CLIENT_NAME, description="latent map of Chandra X-ray spectra",
                                       addr="127.0.0.1", callable=False)
    try:
        client.connect(hub_params=hub)
    except (samp.SAMPHubError, samp.SAMPProxyError, OSError) as exc:
        raise SampUnavailable(f"the SAMP hub did not answer ({exc}); is it still running?") from None
    try:
        subscribed = client.get_subscribed_clients(mtype)
        names = []
        for cid in subscribed:
            try:
                names.append(str(client.get_metadata(cid).get("samp.name", cid)))
            except Exception:  # a client without metadata is still a recipient
                names.append(str(cid))
        if subscribed:
            client.notify_all({"samp.mtype": mtype, "samp.params": params})
        return names
    finally:
        client.disconnect()


def write_table(df: pd.DataFrame, *, name: str, meta: dict | None = None, folder: Path = OUT_DIR) -> Path:
    """The VOTable file the clients will load (only the newest ``MAX_FILES`` are kept)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    old = sorted(folder.glob("*.vot"), key=lambda p: p.stat().st_mtime)
    for p in old[:max(0, len(old) - MAX_FILES + 1)]:
        p.unlink(missing_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60]
    path = folder / f"{safe}_{uuid.uuid4().hex[:8]}.vot"
    path.write_bytes(export.to_bytes(df, "VOTable", meta=meta))
    path.chmod(0o644)
    return path


def send_table(df: pd.DataFrame, *, name: str, meta: dict | None = None, lockfile=None,
               folder: Path = OUT_DIR) -> Sent:
    """``df`` as a VOTable to every client that loads tables (TOPCAT, Aladin)."""
    if len(df) == 0:
        raise XLEError("nothing to send: the selection is empty")
    _hub_params(lockfile)  # fail before writing a file when there is no hub
    path = write_table(df, name=name, meta=meta, folder=folder)
    url = path.resolve().as_uri()
    names = _notify("table.load.votable", {"url": url, "table-id": path.stem, "name": name}, lockfile)
    return Sent("table.load.votable", names, url)


def point_at(ra: float, dec: float, *, lockfile=None) -> Sent:
    """``coord.pointAt.sky`` at (ra, dec), ICRS degrees."""
    if not (0.0 <= float(ra) <= 360.0 and -90.0 <= float(dec) <= 90.0):
        raise XLEError(f"({ra}, {dec}) is not a sky position in degrees")
    names = _notify("coord.pointAt.sky", {"ra": repr(float(ra)), "dec": repr(float(dec))}, lockfile)
    return Sent("coord.pointAt.sky", names)


def feedback(sent: Sent, what: str) -> str:
    """One line for the user."""
    if not sent.recipients:
        return f"The SAMP hub runs, but no client there accepts {sent.mtype} ({what} not sent)."
    return f"Sent {what} to {', '.join(sent.recipients)} ({sent.mtype})."
