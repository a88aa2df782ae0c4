"""Links from a source to the Chandra Source Catalog by its name."""
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
