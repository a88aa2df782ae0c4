"""Pile-up signs (core/io/pileup.py): events above 10 keV beyond the background and the source's own tail, counts
per frame; and what ingest and evaluate do with them on the real files in ../shared/data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.io.pileup import MIRROR_CUTOFF_KEV, pileup_signs

KEV = np.arange(1024) * 0.0146 + 0.0073  # ACIS channel centres, keV


def test_counts_above_the_cutoff_against_the_scaled_background():
    counts = np.zeros(1024)
    counts[KEV < 7] = 5.0
    counts[KEV >= MIRROR_CUTOFF_KEV] = 1.0
    above = int((KEV >= MIRROR_CUTOFF_KEV).sum())
    background = np.full(1024, 4.0)
    s = pileup_signs(counts, KEV, background, 0.25, 3.2, 1e6)
    assert s.counts_above_10kev == above
    assert s.background_above_10kev == pytest.approx(0.25 * 4.0 * above)
    assert s.counts_per_frame == pytest.approx(counts.sum() * 3.2 / 1e6)
    assert s.warnings() == []  # the excess is inside the background's expectation; 0.0087 counts per frame
    no_frame = pileup_signs(counts, KEV, None, 0.0, None, 1000.0)
    assert np.isnan(no_frame.background_above_10kev) and np.isnan(no_frame.counts_per_frame)
    good = KEV < 12  # channels of bad quality are not counted above the cutoff
    assert pileup_signs(counts, KEV, None, 0.0, None, 1.0, good=good).counts_above_10kev == int(
        ((KEV >= MIRROR_CUTOFF_KEV) & good).sum())


def test_a_clear_excess_is_flagged_with_its_numbers():
    counts = np.zeros(1024)
    counts[KEV >= 12] = 3.0
    s = pileup_signs(counts, KEV, np.zeros(1024), 1.0, 3.24104, 49429.0)
    note = s.excess_warning()
    assert note is not None and note.startswith("possible pile-up") and s.warnings() == [note]
    assert f"{s.counts_above_10kev:.0f} counts above 10 keV where 0.0 are expected" in note
    assert "its background 0.0" in note and f"{s.counts_per_frame:.2f} counts per frame" in note
    # 20 counts is the floor; a bright background raises the bar to 5 sigma
    small = np.zeros(1024)
    small[np.flatnonzero(KEV >= 12)[:19]] = 1.0
    assert pileup_signs(small, KEV, None, 0.0, None, 1.0).excess_warning() is None
    busy = np.zeros(1024)
    busy[KEV >= 12] = 1.0  # n counts above against a background expecting n - 40: below 5 sigma
    n = busy.sum()
    bkg = np.zeros(1024)
    bkg[KEV >= 12] = (n - 40) / n
    assert pileup_signs(busy, KEV, bkg, 1.0, None, 1.0).excess_warning() is None
    bkg *= (n - 100) / (n - 40)
    assert pileup_signs(busy, KEV, bkg, 1.0, None, 1.0).excess_warning() is not None


def test_the_flat_fold_is_computed_once_per_shared_response(real_data):
    """Spectra that share a parsed response (core.io.response_cache) share its flat fold: one sparse product per
    response, not per file; it equals the explicit ARF x RMF product."""
    from core.io.pileup import flat_folded
    from core.io.response import read_arf
    from core.io.response_cache import cached
    from core.io.rmf import read_rmf

    stem = real_data / "responses/acisf04938_000N002_r0043"
    arf, rmf = cached(read_arf, stem.with_name(stem.name + "_arf3.fits")), cached(read_rmf, stem.with_name(
        stem.name + "_rmf3.fits"))
    first = flat_folded(arf, rmf)
    again = flat_folded(cached(read_arf, arf.path), cached(read_rmf, rmf.path))  # new objects, shared arrays
    assert again is first and not first.flags.writeable
    np.testing.assert_allclose(first, (arf.specresp * (arf.energ_hi - arf.energ_lo)) @ rmf.matrix, rtol=1e-12)


def test_a_hard_sources_own_tail_is_expected_not_flagged():
    """A bright hard source puts real counts above 10 keV through the ARF's last cm2 and the RMF's spread: the
    expectation scales a flat (Gamma = 0) folded spectrum to the source's net counts at 8-10 keV."""
    flat = np.where(KEV < 10, 1.0, 0.1)  # per channel: a tenth as many counts per channel above 10 keV
    counts = np.zeros(1024)
    band = (KEV >= 8) & (KEV < 10)
    above = KEV >= 10
    counts[band] = 10.0
    counts[above] = 1.0  # exactly the hard tail that the 8-10 keV counts imply
    s = pileup_signs(counts, KEV, None, 0.0, None, 1.0, flat_folded=flat)
    assert s.tail_above_10kev == pytest.approx(10.0 * band.sum() * 0.1 * above.sum() / band.sum())
    assert s.counts_above_10kev == pytest.approx(s.tail_above_10kev)
    assert s.excess_warning() is None
    assert pileup_signs(counts, KEV, None, 0.0, None, 1.0).excess_warning() is not None  # without the tail


def test_a_high_rate_alone_gets_the_milder_note():
    counts = np.zeros(1024)
    counts[(KEV > 0.5) & (KEV < 3)] = 3.0
    s = pileup_signs(counts, KEV, None, 0.0, 3.2, counts.sum() * 3.2 / 0.18)  # 0.18 counts per frame
    assert s.excess_warning() is None
    assert s.warnings() == [s.rate_warning()] and s.rate_warning().startswith("count rate 0.18 per frame")
    assert pileup_signs(counts, KEV, None, 0.0, 3.2, counts.sum() * 3.2 / 0.05).warnings() == []


def test_ingest_flags_the_piled_up_real_spectra(real_data, run_core, tmp_path):
    """M33 (source.pi, the on-axis nucleus) and NGC 4258 (source_bin10.pi) hold 1,129 and 114 events above 10 keV
    (channels of good quality); 3C 186 (9774.pi) holds 4 where its background expects 5.5, and a CSC file 243
    against 231."""
    out = tmp_path / "real"
    result = run_core("ingest", real_data / "spectra/source.pi", real_data / "spectra/source_bin10.pi",
                      real_data / "spectra/9774.pi",
                      real_data / "responses/acisf04938_000N002_r0043_pha3.fits", "--out", out)
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stdout.splitlines() if line.startswith("warning") and "possible pile-up" in line]
    assert len(warned) == 2 and any("source.pi" in w for w in warned) and any("source_bin10" in w for w in warned)
    cat = pd.read_parquet(out / "catalog.parquet").set_index("id")
    assert cat.loc["source", "counts_above_10kev"] == 1129 and cat.loc["source_bin10", "counts_above_10kev"] == 114
    assert cat.loc["9774", "counts_above_10kev"] == 4
    assert cat.loc["9774", "background_above_10kev"] == pytest.approx(5.5, abs=0.01)
    assert cat.loc["9774", "warnings"].startswith("count rate 0.18 per frame")  # 3C 186: the milder note only
    assert "pile-up" not in cat.loc["acisf04938_000N002_r0043_pha3", "warnings"]
    assert cat.loc["source_bin10", "expected_above_10kev"] == pytest.approx(17.8, abs=0.1)  # its own hard tail
    assert "pile-up" in cat.loc["source", "warnings"]
    assert cat.loc["source", "counts_per_frame"] == pytest.approx(0.69, abs=0.005)
    report = pd.read_csv(out.with_name("real_ingest_report.csv")).set_index("file")
    assert "pile-up" in report.loc[str(real_data / "spectra/source.pi"), "reason"]


def test_evaluate_names_the_piled_up_rows(real_data, run_core, tmp_path_factory):
    """``evaluate --data`` on ingested real spectra lists the rows ingest warned of pile-up (metrics.json and the
    printed table), so their deviance is not read as the model's misfit alone."""
    import json

    from tests.explore_support import session_run

    _, run = session_run(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("piled")
    data = tmp / "real"
    assert run_core("ingest", real_data / "spectra/source_bin10.pi", real_data / "spectra/9774.pi",
                    "--out", data).returncode == 0
    r = run_core("evaluate", "--run", run, "--data", data, "--out", tmp / "scores", "--repeats", "1",
                 "--trees", "5", timeout=300)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp / "scores" / "metrics.json").read_text())
    assert m["possible_pileup"]["ids"] == ["source_bin10"]
    recon = pd.read_csv(tmp / "scores" / "reconstruction.csv").set_index("id")
    assert m["possible_pileup"]["deviance_per_bin_of_the_others"] == pytest.approx(recon.loc["9774",
                                                                                                "deviance_per_bin"])
    assert "1 spectra carry ingest's 'possible pile-up' warning (source_bin10)" in r.stdout
    assert "deviance per bin of the other 1:" in r.stdout
