"""Readers on the real files: every count on the grid is checked against an independent astropy sum."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from core.spectra.energy import EnergyGrid
from core.errors import SpectrumError
from core.io import identify, read_spectrum

CSC_PHA3 = {  # file -> total counts of the source spectrum (data/README.md)
    "responses/acisf01575_001N001_r0085_pha3.fits.gz": 855,
    "responses/acisf04938_000N002_r0043_pha3.fits": 2116,
    "responses/acisf07867_000N001_r0002_pha3.fits": 233,
    "responses/acisf23022_000N027_r0122_pha3.fits.gz": 286,
}
OGIP_WITH_BACKFILE = {  # file -> (total counts, its background file)
    "spectra/9774.pi": (4424, "9774_bg.pi"),
    "spectra/bubble.pi": (43, "bubble_bg.pi"),
    "spectra/obs1.pi": (54, "obs1_bg.pi"),
    "spectra/obs2.pi": (35, "obs2_bg.pi"),
}


# ---- independent expectations, straight from the FITS files -------------------------------------------------

def spectrum_hdus(path: Path) -> tuple[fits.Header, np.ndarray, fits.Header | None, np.ndarray | None]:
    """(source header, source COUNTS, background header, background COUNTS) of a PHA file, read with astropy."""
    with fits.open(path) as hdul:
        spec = [h for h in hdul[1:] if h.header.get("HDUCLAS1") == "SPECTRUM"]
        src = next(h for h in spec if h.header.get("HDUCLAS2") != "BKG")
        bkg = next((h for h in spec if h.header.get("HDUCLAS2") == "BKG"), None)
        return (src.header.copy(), np.array(src.data["COUNTS"], dtype=float),
                None if bkg is None else bkg.header.copy(),
                None if bkg is None else np.array(bkg.data["COUNTS"], dtype=float))


def ebounds_centres(rmf_path: str | Path) -> np.ndarray:
    with fits.open(rmf_path) as hdul:
        eb = hdul["EBOUNDS"].data
        return 0.5 * (np.asarray(eb["E_MIN"], float) + np.asarray(eb["E_MAX"], float))


def on_grid(channel_counts: np.ndarray, centres: np.ndarray, grid: EnergyGrid) -> np.ndarray:
    """Counts per grid bin: channels assigned by EBOUNDS centre, channels outside the grid dropped."""
    edges = grid.edges
    inside = (centres >= edges[0]) & (centres < edges[-1])
    return np.histogram(centres[inside], bins=edges, weights=channel_counts[inside])[0]


def background_scale(src: fits.Header, bkg: fits.Header) -> float:
    num = src["BACKSCAL"] * src.get("AREASCAL", 1.0) * src["EXPOSURE"]
    return num / (bkg["BACKSCAL"] * bkg.get("AREASCAL", 1.0) * bkg["EXPOSURE"])


def check_against_file(spec, grid: EnergyGrid) -> None:
    """Counts, totals, exposure and hardness of ``spec`` against the file it came from."""
    src_h, src_counts, _, _ = spectrum_hdus(spec.path)
    centres = ebounds_centres(spec.meta["rmf_file"])
    assert len(centres) == len(src_counts) == 1024
    expected = on_grid(src_counts, centres, grid)
    assert spec.counts.shape == (grid.n_bins,)
    np.testing.assert_array_equal(spec.counts, expected)
    inside = (centres >= grid.edges[0]) & (centres < grid.edges[-1])
    assert spec.total_counts == int(src_counts[inside].sum())
    assert spec.file_counts == int(src_counts.sum())
    assert spec.total_counts <= spec.file_counts
    assert spec.exposure == pytest.approx(src_h["EXPOSURE"])
    assert np.all(spec.counts == np.round(spec.counts))
    assert spec.background.shape == spec.weights.shape == (grid.n_bins,)
    assert np.all(spec.background >= 0)
    for name, value in spec.hardness.items():
        assert -1.0 <= value <= 1.0, f"{name}={value}"


# ---- CSC per-source products -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CSC_PHA3), ids=lambda n: Path(n).name)
def test_csc_pha3_counts_background_and_responses(real_data, name):
    path = real_data / name
    assert identify(path) == "csc_pha3"
    spec = read_spectrum(path)
    assert spec.meta["layout"] == "csc_pha3"
    assert spec.meta["instrument"] == "ACIS"
    check_against_file(spec, EnergyGrid())
    assert spec.file_counts == CSC_PHA3[name]
    # responses are the file's own rmf3/arf3, found next to it (gzipped or not)
    stem = path.name.split("_pha3")[0]
    assert Path(spec.meta["rmf_file"]).name.startswith(stem + "_rmf3.fits")
    assert Path(spec.meta["arf_file"]).name.startswith(stem + "_arf3.fits")
    # background: the second SPECTRUM HDU, scaled by BACKSCAL/AREASCAL/EXPOSURE ratios
    src_h, _, bkg_h, bkg_counts = spectrum_hdus(path)
    scale = background_scale(src_h, bkg_h)
    assert 0 < scale < 1
    assert spec.meta["background_scale"] == pytest.approx(scale, rel=1e-9)
    expected_bkg = on_grid(bkg_counts, ebounds_centres(spec.meta["rmf_file"]), EnergyGrid()) * scale
    np.testing.assert_allclose(spec.background, expected_bkg, rtol=1e-9, atol=1e-12)
    assert "BKG" in spec.sources["background"]


def test_csc_pha3_on_another_grid(real_data):
    grid = EnergyGrid(0.3, 8.0, 2)
    spec = read_spectrum(real_data / "responses/acisf04938_000N002_r0043_pha3.fits", grid=grid)
    assert spec.grid == grid and len(spec.edges) == grid.n_bins + 1
    check_against_file(spec, grid)


# ---- OGIP type I files -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(OGIP_WITH_BACKFILE), ids=lambda n: Path(n).name)
def test_ogip_with_backfile(real_data, name):
    path = real_data / name
    total, backfile = OGIP_WITH_BACKFILE[name]
    assert identify(path) == "ogip_pha"
    spec = read_spectrum(path)
    assert spec.meta["layout"] == "ogip_pha"
    check_against_file(spec, EnergyGrid())
    assert spec.file_counts == total
    # the only note a well-formed file gets here: 3C 186's rate (0.18 counts per frame) allows some pile-up
    assert [w for w in spec.warnings if not w.startswith("count rate")] == []
    assert Path(spec.meta["background_file"]).name == backfile
    src_h, _, _, _ = spectrum_hdus(path)
    bkg_h, bkg_counts, _, _ = spectrum_hdus(path.with_name(backfile))
    scale = background_scale(src_h, bkg_h)
    assert spec.meta["background_scale"] == pytest.approx(scale, rel=1e-9)
    expected_bkg = on_grid(bkg_counts, ebounds_centres(spec.meta["rmf_file"]), EnergyGrid()) * scale
    np.testing.assert_allclose(spec.background, expected_bkg, rtol=1e-9, atol=1e-12)
    assert spec.background.sum() > 0


def test_9774_known_values(real_data):
    """3C 186: responses and background named by the header, the object read from it."""
    spec = read_spectrum(real_data / "spectra/9774.pi")
    assert Path(spec.meta["rmf_file"]).name == "9774.rmf"
    assert Path(spec.meta["arf_file"]).name == "9774.arf"
    assert spec.meta["obsid"] == "9774"
    assert spec.file_counts == 4424
    assert 0 < spec.total_counts < 4424  # channels outside 0.5-7 keV are dropped, never moved
    assert "from the header" in spec.sources["rmf"]


def test_same_stem_responses_when_header_names_none(real_data):
    """source.pi has no RESPFILE/ANCRFILE: source.rmf/source.arf beside it are used, with a warning each."""
    spec = read_spectrum(real_data / "spectra/source.pi")
    check_against_file(spec, EnergyGrid())
    assert Path(spec.meta["rmf_file"]).name == "source.rmf"
    assert Path(spec.meta["arf_file"]).name == "source.arf"
    joined = " ".join(spec.warnings)
    assert "RESPFILE" in joined and "source.rmf" in joined
    assert "ANCRFILE" in joined and "source.arf" in joined
    # no BACKFILE in its header: no background
    assert spec.meta["background_file"] == ""
    assert spec.meta["background_scale"] == 0.0
    assert np.all(spec.background == 0)


def test_explicit_overrides(real_data, copy_real, tmp_path):
    """source.pi alone in a folder, its responses and back.pi elsewhere, all given by the caller."""
    alone = copy_real("spectra/source.pi", dest=tmp_path / "alone")
    other = copy_real("spectra/source.arf", "spectra/source.rmf", "spectra/back.pi", dest=tmp_path / "elsewhere")
    with pytest.raises(SpectrumError, match="RESPFILE"):
        read_spectrum(alone / "source.pi")  # nothing beside it and nothing given
    spec = read_spectrum(alone / "source.pi", arf=other / "source.arf", rmf=other / "source.rmf",
                         background=other / "back.pi")
    check_against_file(spec, EnergyGrid())
    assert spec.meta["rmf_file"] == str(other / "source.rmf")
    assert spec.meta["arf_file"] == str(other / "source.arf")
    assert "given by the caller" in spec.sources["rmf"] and "given by the caller" in spec.sources["arf"]
    # the only warning: M33's nucleus is piled up (core/io/pileup.py), now against back.pi's expectation
    assert len(spec.warnings) == 1 and spec.warnings[0].startswith("possible pile-up: 1129 counts above 10 keV")
    assert "its background 10.4" in spec.warnings[0]
    src_h, _, _, _ = spectrum_hdus(alone / "source.pi")
    bkg_h, bkg_counts, _, _ = spectrum_hdus(other / "back.pi")
    scale = background_scale(src_h, bkg_h)
    assert scale == pytest.approx(src_h["BACKSCAL"] / bkg_h["BACKSCAL"])  # same exposure
    assert spec.meta["background_scale"] == pytest.approx(scale, rel=1e-9)
    np.testing.assert_allclose(spec.background,
                               on_grid(bkg_counts, ebounds_centres(other / "source.rmf"), EnergyGrid()) * scale,
                               rtol=1e-9)
    # the same counts as with the same-stem convention
    np.testing.assert_array_equal(spec.counts, read_spectrum(real_data / "spectra/source.pi").counts)


def test_override_background_of_csc_pha3(real_data, copy_real, tmp_path):
    """An explicit background replaces the pha3's own second SPECTRUM HDU."""
    folder = copy_real("responses/acisf07867_000N001_r0002_pha3.fits", "responses/acisf07867_000N001_r0002_arf3.fits",
                       "responses/acisf07867_000N001_r0002_rmf3.fits")
    shutil.copyfile(real_data / "spectra/back.pi", tmp_path / "bkg.pi")
    spec = read_spectrum(folder / "acisf07867_000N001_r0002_pha3.fits", background=tmp_path / "bkg.pi")
    src_h, _, _, _ = spectrum_hdus(folder / "acisf07867_000N001_r0002_pha3.fits")
    bkg_h, _, _, _ = spectrum_hdus(tmp_path / "bkg.pi")
    assert spec.meta["background_scale"] == pytest.approx(background_scale(src_h, bkg_h), rel=1e-9)
    assert spec.sources["background"] == str(tmp_path / "bkg.pi")


def test_missing_backfile_gives_a_warning(real_data):
    """source_bin10.pi names background.pi, which is not there: read without background, with a warning."""
    spec = read_spectrum(real_data / "spectra/source_bin10.pi")
    check_against_file(spec, EnergyGrid())
    assert Path(spec.meta["rmf_file"]).name == "rmf.fits"
    assert Path(spec.meta["arf_file"]).name == "arf.fits"
    assert any("background.pi" in w and "BACKFILE" in w for w in spec.warnings)
    assert np.all(spec.background == 0)
    assert spec.sources["background"] == "none"


def test_hardness_matches_band_sums(real_data):
    """Hardness ratios from net counts in the CSC bands (bins by centre), recomputed by hand; when the reader
    records the mean ARF area per band (``area_s/m/h``), each band is divided by it (photon-flux ratios)."""
    spec = read_spectrum(real_data / "spectra/9774.pi")
    centre = spec.grid.centers
    net = {}
    for band, (lo, hi) in {"s": (0.5, 1.2), "m": (1.2, 2.0), "h": (2.0, 7.0)}.items():
        sel = (centre >= lo) & (centre < hi)
        net[band] = max(spec.counts[sel].sum() - spec.background[sel].sum(), 0.0)
        if f"area_{band}" in spec.meta:
            net[band] /= spec.meta[f"area_{band}"]
    assert min(net.values()) > 0
    hr = spec.hardness
    assert hr["hard_hm"] == pytest.approx((net["h"] - net["m"]) / (net["h"] + net["m"]))
    assert hr["hard_hs"] == pytest.approx((net["h"] - net["s"]) / (net["h"] + net["s"]))
    assert hr["hard_ms"] == pytest.approx((net["m"] - net["s"]) / (net["m"] + net["s"]))


def test_ingest_sorts_by_the_readers_rule_for_the_spectrum_table(tmp_path):
    """Two tables, one classed SPECTRUM by HDUCLAS1 (lower case, leading blanks) and one only named SPECTRUM: the readers
    and ingest's header-only sorting both take the classed one (core.io.fitsfile.matching_tables), so ingest
    follows that table's BACKFILE, not the other's."""
    from core.data.ingest import peek_chunk
    from core.io.fitsfile import find_hdus

    def table(backfile: str, **cards: str) -> fits.BinTableHDU:
        hdu = fits.BinTableHDU.from_columns([fits.Column("CHANNEL", "J", array=np.arange(4)),
                                             fits.Column("COUNTS", "J", array=np.ones(4, int))])
        hdu.header.update({"BACKFILE": backfile, **cards})
        return hdu

    path = tmp_path / "two.pi"
    fits.HDUList([fits.PrimaryHDU(), table("named.pi", EXTNAME="SPECTRUM"),
                  table("classed.pi", EXTNAME="OTHER", HDUCLAS1="  spectrum")]).writeto(path)
    with fits.open(path) as hdul:
        assert [h.name for h in find_hdus(hdul, "SPECTRUM", "SPECTRUM")] == ["OTHER"]
    assert peek_chunk([path]) == [("spectrum", "classed.pi")]


def test_the_missing_response_refusal_reads_back(real_data, tmp_path):
    """ingest's hint reads the refusal's text back (reasons cross worker processes as text): the roles and the
    file names the header gives, from the message load_responses writes; nothing from any other reason."""
    from core.io.companions import missing_responses

    shutil.copy(real_data / "spectra/9774.pi", tmp_path / "9774.pi")
    with pytest.raises(SpectrumError) as exc:
        read_spectrum(tmp_path / "9774.pi")
    assert exc.value.missing == ("ARF", "RMF")
    assert missing_responses(exc.value.reason) == {"ARF": "9774.arf", "RMF": "9774.rmf"}
    shutil.copy(real_data / "spectra/9774.arf", tmp_path / "9774.arf")
    with pytest.raises(SpectrumError) as exc:
        read_spectrum(tmp_path / "9774.pi")
    assert missing_responses(exc.value.reason) == {"RMF": "9774.rmf"}
    assert missing_responses("not a spectrum") == {}
