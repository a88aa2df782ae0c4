"""Responses as data: folding a photon spectrum through a real ARF x RMF onto the grids, the responses.npz file."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from core.data.dataset import load_dataset, write_dataset
from core.data.responses import RESPONSES_FILE, ResponseCollector
from core.errors import DatasetError
from core.io.response import read_arf, read_rmf
from core.spectra.energy import EnergyGrid
from core.spectra.response_grid import PhotonGrid, fold_response
from tests.tiny_data import make_tiny_dataset

STEM = "responses/acisf04938_000N002_r0043"


def powerlaw_photons(lo: np.ndarray, hi: np.ndarray, gamma: float = 1.7, norm: float = 1e-3) -> np.ndarray:
    """Photons cm-2 s-1 in [lo, hi] of norm * E^-gamma, integrated analytically."""
    return norm * (hi ** (1 - gamma) - lo ** (1 - gamma)) / (1 - gamma)


@pytest.fixture(scope="module")
def arf_rmf(real_data):
    return read_arf(real_data / f"{STEM}_arf3.fits"), read_rmf(real_data / f"{STEM}_rmf3.fits")


def independent_fold(arf, rmf, channel_edges: np.ndarray, photons: np.ndarray) -> np.ndarray:
    """Expected counts per second in each channel-grid bin, channel by channel, from the dense matrix."""
    out = np.zeros(len(channel_edges) - 1)
    per_channel = (photons * arf.specresp) @ rmf.matrix  # (C,)
    for c, (lo, hi) in enumerate(zip(rmf.e_min, rmf.e_max)):
        centre = 0.5 * (lo + hi)
        for b in range(len(out)):
            if channel_edges[b] <= centre < channel_edges[b + 1]:
                out[b] += per_channel[c]
    return out


def test_fold_matches_an_independent_calculation(arf_rmf):
    arf, rmf = arf_rmf
    grid = EnergyGrid()
    native_edges = np.append(arf.energ_lo, arf.energ_hi[-1])
    arf_g, rmf_g = fold_response(arf, rmf, native_edges, grid.edges)  # photon grid = the response's own grid
    photons = powerlaw_photons(arf.energ_lo, arf.energ_hi)
    ours = photons @ (arf_g[:, None] * rmf_g)
    want = independent_fold(arf, rmf, grid.edges, photons)
    assert want.min() > 0
    np.testing.assert_allclose(ours, want, rtol=1e-6)
    # a dense RMF gives the same as the readers' sparse one, and so does the photon grid within its
    # flat-in-bin approximation
    dense = SimpleNamespace(**{k: v for k, v in vars(rmf).items() if k != "redistribution"}, matrix=rmf.matrix)
    np.testing.assert_allclose(fold_response(arf, dense, native_edges, grid.edges)[1], rmf_g, rtol=1e-12)
    pg = PhotonGrid().edges
    arf_p, rmf_p = fold_response(arf, rmf, pg, grid.edges)
    coarse = powerlaw_photons(pg[:-1], pg[1:]) @ (arf_p[:, None] * rmf_p)
    np.testing.assert_allclose(coarse, want, rtol=0.02)
    assert not np.allclose(coarse, want, rtol=1e-6)  # the photon grid is an approximation, and the test sees it


def test_collector_stores_identical_responses_once(arf_rmf, tmp_path):
    arf, rmf = arf_rmf
    data = make_tiny_dataset(tmp_path / "tiny", n=10, n_bins=EnergyGrid().n_bins)
    ds = load_dataset(data)
    col = ResponseCollector(ds.energy_edges)
    first = col.add("a", arf, rmf)
    assert col.add("same again", arf, rmf) == first
    halved = type(arf)(**{**vars(arf), "specresp": arf.specresp * 0.5})
    assert col.add("half area", halved, rmf) == 1
    rs = col.build(np.array([0, 1] * 5))
    assert rs.arf.shape == (2, PhotonGrid().n_bins) and rs.rmf.shape == (2, PhotonGrid().n_bins, ds.n_bins)
    out = write_dataset(tmp_path / "with", ds.catalog, ds.spectra, ds.background, ds.energy_edges, ds.info,
                        responses=rs)
    back = load_dataset(out).responses
    np.testing.assert_array_equal(back.index, rs.index)
    np.testing.assert_allclose(back.matrix(), rs.matrix())
    assert list(back.names) == ["a", "half area"]
    with pytest.raises(DatasetError, match="response indices"):
        write_dataset(tmp_path / "bad", ds.catalog, ds.spectra, ds.background, ds.energy_edges, ds.info,
                      responses=col.build(np.zeros(3)))
    assert not (tmp_path / "bad").exists()


def test_old_folders_have_no_responses(tmp_path):
    data = make_tiny_dataset(tmp_path / "tiny", n=10, n_bins=8, with_responses=False)
    assert not (data / RESPONSES_FILE).exists() and load_dataset(data).responses is None
