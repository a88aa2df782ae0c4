"""Links from a source to the Chandra Source Catalog and SIMBAD, by its name and by its position."""
from __future__ import annotations

from urllib.parse import quote, urlencode

CSC_CLI = "https://cda.cfa.harvard.edu/csccli/getProperties"
SIMBAD = "https://simbad.cds.unistra.fr/simbad/sim-id"


def is_csc_name(name: str) -> bool:
    """A CSC release-2 master source name: ``2CXO JHHMMSS.s+DDMMSS`` (optionally ``X`` for extended)."""
    return isinstance(name, str) and name.strip().startswith("2CXO J") and "'" not in name


def csc_url(name: str) -> str | None:
    """The CSC master-source properties of ``name`` (the CSC command-line interface, queried by name).

    ``None`` for names that are not CSC names (an uploaded file, a simulated source without a real name).
    ``version=cur`` asks the current CSC 2 database; without it the service answers from release 1.1 (CSC 2.0
    command-line interface documentation), which has no ``2CXO`` names.
    """
    if not is_csc_name(name):
        return None
    adql = f"SELECT m.* FROM master_source m WHERE m.name = '{name.strip()}'"
    return f"{CSC_CLI}?{urlencode({'version': 'cur', 'query': adql, 'outputFormat': 'tsv'}, quote_via=quote)}"


def simbad_url(name: str) -> str | None:
    """SIMBAD's page for the same identifier (SIMBAD resolves 2CXO names)."""
    if not isinstance(name, str) or not name.strip():
        return None
    return f"{SIMBAD}?{urlencode({'Ident': name.strip()}, quote_via=quote)}"


SIMBAD_COO = "https://simbad.cds.unistra.fr/simbad/sim-coo"
CSC_CONE = "https://cda.cfa.harvard.edu/csccli/coneSearch"


def _position(ra, dec) -> tuple[float, float] | None:
    try:
        ra, dec = float(ra), float(dec)
    except (TypeError, ValueError):
        return None
    if not (0.0 <= ra <= 360.0 and -90.0 <= dec <= 90.0):  # NaN fails too
        return None
    return ra, dec


def simbad_cone_url(ra, dec, radius_arcsec: float = 5.0) -> str | None:
    """SIMBAD's objects within ``radius_arcsec`` of (ra, dec) in ICRS degrees (``sim-coo``); ``None`` for no
    or an impossible position. Finds a counterpart when the name is unknown to SIMBAD."""
    pos = _position(ra, dec)
    if pos is None:
        return None
    q = {"Coord": f"{pos[0]:.6f} {pos[1]:+.6f}", "CooFrame": "ICRS", "Radius": f"{radius_arcsec:g}",
         "Radius.unit": "arcsec", "submit": "submit query"}
    return f"{SIMBAD_COO}?{urlencode(q, quote_via=quote)}"


def csc_cone_url(ra, dec, radius_arcmin: float = 0.1) -> str | None:
    """CSC master sources within ``radius_arcmin`` of (ra, dec) (the CSC command-line interface's cone search,
    current release, a table you can read in a browser)."""
    pos = _position(ra, dec)
    if pos is None:
        return None
    q = {"version": "cur", "ra": f"{pos[0]:.6f}", "dec": f"{pos[1]:.6f}", "radius": f"{radius_arcmin:g}",
         "outputFormat": "tsv"}
    return f"{CSC_CONE}?{urlencode(q, quote_via=quote)}"
