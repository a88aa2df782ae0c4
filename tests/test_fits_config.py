"""Reading processes give astropy's card parser a snapshot of its configuration (core.io.fits_config): the same
spectra, the user's values kept, and the snapshot really in place in ingest's reading processes."""
from __future__ import annotations

import types

import astropy.io.fits as fits
import astropy.io.fits.card as card
import numpy as np
import pytest

from core.data.timed import TimedWorker
from core.io import read_spectrum
from core.io.fits_config import freeze_fits_config

FILES = ("responses/acisf01575_001N001_r0085_pha3.fits.gz", "responses/acisf04938_000N002_r0043_pha3.fits",
         "spectra/9774.pi")


def test_the_same_spectra_with_the_snapshot(real_data, monkeypatch):
    before = [read_spectrum(real_data / name) for name in FILES]
    monkeypatch.setattr(card, "conf", card.conf)  # put astropy's own back after the test
    assert freeze_fits_config()
    assert isinstance(card.conf, types.SimpleNamespace)
    after = [read_spectrum(real_data / name) for name in FILES]
    for a, b in zip(before, after):
        assert np.array_equal(a.counts, b.counts) and np.array_equal(a.background, b.background)
        assert a.meta.keys() == b.meta.keys()
        assert all(a.meta[k] == b.meta[k] or (a.meta[k] != a.meta[k] and b.meta[k] != b.meta[k]) for k in a.meta)


def test_the_snapshot_keeps_the_users_values(monkeypatch):
    monkeypatch.setattr(card, "conf", card.conf)
    with fits.conf.set_temp("strip_header_whitespace", False):
        assert freeze_fits_config()
    assert card.conf.strip_header_whitespace is False
    assert card.conf.enable_record_valued_keyword_cards == fits.conf.enable_record_valued_keyword_cards


def _card_conf_type() -> str:
    return type(card.conf).__name__


def test_reading_processes_use_the_snapshot_and_this_one_does_not():
    with TimedWorker(timeout_s=60) as worker:
        assert worker.call(_card_conf_type) == "SimpleNamespace"
    assert _card_conf_type() != "SimpleNamespace"  # the calling process keeps astropy's own lookups


@pytest.mark.parametrize("value", [True, False])
def test_header_whitespace_setting_is_honoured_through_the_snapshot(value, monkeypatch):
    monkeypatch.setattr(card, "conf", card.conf)
    with fits.conf.set_temp("strip_header_whitespace", value):
        freeze_fits_config()
    c = fits.Card("OBJECT", "M33   ")
    assert c.value == ("M33" if value else "M33   ")
