"""SAMP against a real astropy hub and a real receiving client on loopback: a selection arrives as a VOTable
with exactly those rows (units and the simulated flag included), a position as coord.pointAt.sky; without a
hub the user gets a clear message. The app's send buttons are driven through AppTest (the browser test
drives the same button in Chromium)."""
from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pandas as pd
import pytest
from astropy.io.votable import parse

from explorer.logic import samp
from tests.samp_support import samp_hub


def load(url: str):
    return parse(io.BytesIO(Path(url2pathname(urlparse(url).path)).read_bytes())).get_first_table()


@pytest.fixture
def hub(tmp_path):
    with samp_hub(tmp_path) as h:
        yield h


def test_selection_reaches_the_client_as_a_votable_and_a_position_too(hub, tmp_path):
    lock, _, rec = hub
    df = pd.DataFrame({"id": ["s1", "s2", "s3"], "name": ["2CXO J1", "2CXO J2", "2CXO J3"],
                       "ra": [10.5, 20.25, 300.0], "dec": [-5.0, 41.2, 12.0], "counts": [120, 45, 3000]})
    sent = samp.send_table(df, name="tiny selection", meta={"simulated": True}, lockfile=lock, folder=tmp_path)
    assert sent.recipients == ["recorder (test TOPCAT)"]
    p = rec.wait("table.load.votable")
    assert p["name"] == "tiny selection" and p["url"] == sent.url
    t = load(p["url"])
    assert list(t.array["id"]) == ["s1", "s2", "s3"]
    assert str(t.get_field_by_id("ra").unit) == "deg" and t.get_field_by_id("ra").ucd == "pos.eq.ra;meta.main"
    assert [(q.name, q.value) for q in t.params] == [("simulated", True)]
    samp.point_at(20.25, 41.2, lockfile=lock)
    q = rec.wait("coord.pointAt.sky")
    assert float(q["ra"]) == 20.25 and float(q["dec"]) == 41.2


def test_no_hub_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{(tmp_path / 'none.lock').as_uri()}")
    with pytest.raises(samp.SampUnavailable, match="no SAMP hub is running"):
        samp.point_at(1.0, 2.0)
    with pytest.raises(samp.SampUnavailable, match="Start TOPCAT"):
        samp.send_table(pd.DataFrame({"id": ["a"]}), name="x", lockfile=tmp_path / "none.lock", folder=tmp_path)
    assert not list(tmp_path.glob("*.vot"))  # nothing written when nobody can read it


def test_bad_position_is_refused(hub):
    with pytest.raises(Exception, match="not a sky position"):
        samp.point_at(400.0, 0.0, lockfile=hub[0])
