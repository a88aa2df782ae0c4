"""``freeze_fits_config()``: astropy.io.fits's configuration read once, for processes that only read files.

astropy.io.fits looks its configuration up (an ``astropy.config.ConfigItem``: a configobj lookup with
validation) for every header card it parses (``Card.value`` reads ``strip_header_whitespace``,
``Card._check_if_rvkc`` reads ``enable_record_valued_keyword_cards``): measured here, about 200 lookups and 20% of
the time to read a CSC pha3 file (5.2 against 4.2 ms a file over 400 files, the same arrays). In a process that
does nothing but read (ingest's reading processes, ``core.data.timed``) those values cannot change, so the card
module is given a snapshot of the same values, taken from ``astropy.io.fits.conf`` (a user's astropy
configuration file still applies). Other processes (the app, tests) keep astropy's own lookups.
"""
from __future__ import annotations

import types

import astropy.io.fits as fits
import astropy.io.fits.card as card


def freeze_fits_config() -> bool:
    """Give astropy's card parser a snapshot of ``astropy.io.fits.conf`` (its current values). False where this
    astropy's card module has no ``conf`` to replace (then nothing changes: reading is only slower)."""
    if not isinstance(getattr(card, "conf", None), type(fits.conf)):
        return False
    card.conf = types.SimpleNamespace(**{name: getattr(fits.conf, name) for name in fits.conf})
    return True
