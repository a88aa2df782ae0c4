"""Companion files of a spectrum (RESPFILE, ANCRFILE, BACKFILE): found only inside the spectrum's own folder,
unless the caller names them; any failure while reading one is reported against the spectrum, naming the
companion."""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from core.errors import SpectrumError
from core.io.fitsfile import find_hdus, header_value, is_none_name, open_fits
from core.io.pha import PhaHDU, check_instrument, parse_spectrum_hdu
from core.io.response import Arf, Rmf, read_arf, read_rmf
from core.io.response_cache import cached

ROLES = {"RESPFILE": "RMF", "ANCRFILE": "ARF", "BACKFILE": "background"}
STEM_SUFFIXES = {"RESPFILE": (".rmf", ".rmf.gz"), "ANCRFILE": (".arf", ".arf.gz")}
MAX_NAME = 200  # leaves room for ".gz" under the file system's 255
NEEDS = "needs its"  # a refusal for missing responses starts so (``missing_responses`` reads it back)


@contextlib.contextmanager
def companion(pha_path: Path, role: str, path: Path) -> Iterator[None]:
    """Errors while reading a companion file become the spectrum's refusal, naming the companion."""
    try:
        yield
    except SpectrumError as exc:
        raise SpectrumError(pha_path, f"its {role} {path.name}: {exc.reason}") from exc
    except Exception as exc:
        raise SpectrumError(pha_path, f"its {role} {path.name}: unexpected {type(exc).__name__}: {exc}") from exc


def beside(pha_path: Path, keyword: str, name: str) -> Path:
    """The file ``name`` inside the spectrum's folder; a name leading out of it (absolute, ``..``, a link out of
    the folder) is refused whether or not such a file exists."""
    text = str(name).strip()
    if len(text) > MAX_NAME or "\0" in text or not text.isprintable():
        raise SpectrumError(pha_path, f"{keyword} is not a usable file name ({len(text)} characters)")
    rel = PurePosixPath(text.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts:
        raise SpectrumError(pha_path, f"{keyword} = {text[:80]} points outside the spectrum's folder; only files "
                                      f"beside the spectrum are used")
    folder = pha_path.parent.resolve()
    candidate = folder / rel
    for alt in (candidate, candidate.with_name(candidate.name + ".gz"), candidate.with_suffix("")):
        if alt.is_file():
            if not alt.resolve().is_relative_to(folder):
                raise SpectrumError(pha_path, f"{keyword} = {text[:80]} links outside the spectrum's folder")
            return alt
    return candidate


def _bare(name: str) -> str:
    """A file name without folders or compression suffix, compared case-insensitively."""
    base = PurePosixPath(re.sub(r"[\[{].*$", "", name.strip()).replace("\\", "/")).name.lower()  # foo.rmf[1]
    return re.sub(r"\.(gz|bz2|zip)$", "", base)


def resolve(pha_path: Path, header, keyword: str, override: Path | None,
            warnings: list[str] | None = None) -> tuple[Path | None, str]:
    """(file, what the header says) for RESPFILE/ANCRFILE/BACKFILE; the file is None when it is not there.

    When the header names no response, a file with the PHA's stem and the usual suffix (``source.pi`` ->
    ``source.rmf``) is used, and a warning says so."""
    if override is not None:
        override = Path(override)
        if not override.is_file():
            raise SpectrumError(pha_path, f"the {ROLES[keyword]} given for {keyword}, {override.name}, does not "
                                          f"exist")
        said = header_value(header, keyword)
        if warnings is not None and not is_none_name(said) and _bare(str(said)) != _bare(override.name):
            warnings.append(f"{keyword} = {str(said).strip()[:80]} but {override.name} was given: check that this "
                            f"{ROLES[keyword]} belongs to this spectrum")
        return override, "given by the caller"
    name = header_value(header, keyword)
    if is_none_name(name):
        for suffix in STEM_SUFFIXES.get(keyword, ()):
            guess = pha_path.with_name(pha_path.name.split(".")[0] + suffix)
            if guess.is_file():
                if warnings is not None:
                    warnings.append(f"no {keyword} in the header: used {guess.name} (same name as the spectrum)")
                return guess, "same name as the spectrum"
        return None, f"no {keyword} keyword"
    found = beside(pha_path, keyword, str(name))
    return (found if found.is_file() else None), f"{keyword} = {str(name).strip()}"


def load_responses(path: Path, header, arf: Path | None, rmf: Path | None,
                   warnings: list[str]) -> tuple[Arf, Rmf, dict[str, str]]:
    """The ARF and RMF (parsed once per file version in this process: ``core.io.response_cache``), or one refusal
    naming every one that is missing (``SpectrumError.missing``)."""
    found = {kw: resolve(path, header, kw, given, warnings) for kw, given in (("ANCRFILE", arf), ("RESPFILE", rmf))}
    missing = [kw for kw, (p, _) in found.items() if p is None]
    if missing:
        roles = tuple(ROLES[kw] for kw in missing)
        said = " and ".join(f"{found[kw][1]} (not next to the file)" if "=" in found[kw][1] else found[kw][1]
                            for kw in missing)
        raise SpectrumError(path, f"{NEEDS} {' and '.join(roles)}: {said}; give "
                                  f"{'them' if len(roles) > 1 else 'it'} explicitly", missing=roles)
    arf_path, rmf_path = found["ANCRFILE"][0], found["RESPFILE"][0]
    with companion(path, "ARF", arf_path):
        arf_ = cached(read_arf, arf_path)
    with companion(path, "RMF", rmf_path):
        rmf_ = cached(read_rmf, rmf_path)
    how = {kw: ("from the header, " if "=" in said else "") + said for kw, (_, said) in found.items()}
    return arf_, rmf_, {"rmf": f"{rmf_path.name} ({how['RESPFILE']})", "arf": f"{arf_path.name} ({how['ANCRFILE']})"}


def missing_responses(reason: str) -> dict[str, str | None]:
    """From a rejection reason of ``load_responses`` (the report keeps reasons as text, across worker processes):
    each missing role ("ARF", "RMF") with the file name its header gives, or None where it names none; empty for
    any other reason. Kept beside the message it reads."""
    found = re.match(rf"{NEEDS} (.+?): (.*); give (?:them|it) explicitly$", reason)
    if not found:
        return {}
    roles = [role for role in ("ARF", "RMF") if role in found.group(1)]
    keyword = {role: kw for kw, role in ROLES.items()}
    names = {role: re.search(rf"{keyword[role]} = (\S+)", found.group(2)) for role in roles}
    return {role: m.group(1) if m else None for role, m in names.items()}


def read_background_file(path: Path, caller: Path) -> PhaHDU:
    """The background spectrum in its own file: a Chandra ACIS spectrum, not the spectrum itself."""
    if path.resolve() == caller.resolve():
        raise SpectrumError(caller, "BACKFILE names the spectrum itself; a background must be another spectrum")
    with companion(caller, "background", path), open_fits(path) as hdul:
        hdus = find_hdus(hdul, "SPECTRUM", "SPECTRUM")
        if len(hdus) != 1:
            raise SpectrumError(path, f"has {len(hdus)} SPECTRUM extensions; a background file has one")
        check_instrument(path, hdus[0].header)
        return parse_spectrum_hdu(path, hdus[0])
