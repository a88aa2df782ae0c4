"""Training augmentation (issue 8, fourth pass): perturbed responses applied consistently to the counts, the folding
and what the encoder is told; the count-weighted loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from core.model import ModelConfig
from core.model.instrument import Instrument, area_feature
from core.run.augment import draw_log_gain, perturb_batch
from core.run.losses import batch_loss, count_weighted
from core.run.train import TrainConfig, train
from tiny_data import make_tiny_dataset

SMALL = dict(n_bins=32, bins_per_token=4, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32)
ENERGY = np.geomspace(0.5, 7.0, 32)


def toy_instrument(rng: np.random.Generator, n_resp: int = 2, n_photon: int = 40) -> Instrument:
    pe = np.geomspace(0.3, 10.0, n_photon + 1)
    ce = np.geomspace(0.5, 7.0, 33)
    m = rng.uniform(0.0, 1.0, size=(n_resp, n_photon, 32)) ** 4 * 100.0
    return Instrument(m, pe, ce)


def test_the_gains_are_smooth_and_only_for_the_drawn_share():
    rng = np.random.default_rng(0)
    g = draw_log_gain(ENERGY, 2000, 1.0, 0.5, rng)
    on = np.abs(g).sum(axis=1) > 0
    assert g.shape == (2000, 32) and 0.45 < on.mean() < 0.55
    assert np.abs(np.diff(g[on], axis=1)).max() < 0.6  # smooth from bin to bin
    assert np.allclose(draw_log_gain(ENERGY, 50, 0.0, 1.0, rng), 0.0)  # strength 0: no perturbation
    low = g[on][:, 0]
    assert low.min() < -0.5 and low.max() > 0.3  # more and less contamination than the response had


def test_the_perturbed_instrument_is_the_response_times_the_gain():
    """Against an Instrument built from the explicitly multiplied matrices R[e, b] * g_b, one per row."""
    rng = np.random.default_rng(1)
    inst = toy_instrument(rng)
    counts = torch.as_tensor(rng.poisson(50.0, size=(6, 32)).astype(np.float32))
    index = torch.tensor([0, 1, 1, 0, 1, 0])
    c2, b2, pert = perturb_batch(counts, torch.ones_like(counts), index, inst, ENERGY, 1.0, 1.0, rng)
    gain = pert.gain.numpy()
    explicit = Instrument(inst.matrix.numpy()[index.numpy()] * gain[:, None, :], inst.photon_edges, inst.channel_edges)
    rows = torch.arange(6)
    photons = torch.softmax(torch.randn(6, 40), dim=1)
    assert torch.allclose(pert.fold(photons, index), explicit.fold(photons, rows), rtol=1e-5, atol=1e-7)
    assert torch.allclose(pert.area(index), area_feature(explicit.matrix, explicit.photon_edges,
                                                         explicit.channel_edges), atol=1e-5)
    assert (c2 <= counts).all() and torch.allclose(b2, torch.as_tensor(gain))  # background 1 scaled by the gain
    assert np.allclose(gain.max(axis=1), 1.0) and (gain > 0).all()
    with pytest.raises(ValueError):
        pert.fold(photons[:3], index[:3])


def test_the_counts_are_thinned_by_the_gain_and_untouched_rows_keep_theirs():
    rng = np.random.default_rng(2)
    inst = toy_instrument(rng)
    counts = torch.full((400, 32), 2000.0)
    c2, _, pert = perturb_batch(counts, torch.zeros_like(counts), torch.zeros(400, dtype=torch.long), inst, ENERGY,
                                1.0, 0.5, rng)
    same = (pert.gain == 1).all(dim=1)
    assert 0.4 < same.float().mean() < 0.6 and torch.equal(c2[same], counts[same])
    ratio = (c2[~same] / counts[~same]).numpy()
    assert np.abs(ratio - pert.gain[~same].numpy()).mean() < 0.01  # binomial thinning: mean c * g


def test_count_weighting_spans_each_spectrum_to_each_count():
    per = torch.tensor([1.0, 2.0, 4.0])
    counts = torch.tensor([[10.0, 0.0], [30.0, 0.0], [60.0, 0.0]])
    w = torch.ones_like(counts)
    assert torch.isclose(count_weighted(per, counts, w, 0.0), per.mean())
    assert torch.isclose(count_weighted(per, counts, w, 1.0), torch.tensor((10 + 60 + 240) / 100.0))


def test_the_augmented_loss_trains_the_encoder_and_is_deterministic(tmp_path):
    data = make_tiny_dataset(tmp_path / "tiny", n=96, with_responses=True)
    tc = TrainConfig(max_epochs=1, batch_size=32, response_aug=1.0, response_aug_prob=1.0, count_weight=0.5)
    run = train(data, tmp_path / "run", ModelConfig(**SMALL), tc, progress=False)
    hist = (run / "history.csv").read_text().splitlines()
    assert len(hist) == 2 and all(v not in hist[1] for v in ("nan", "inf"))

    from core.data.dataset import load_dataset
    from core.model.autoencoder import SpectrumAutoencoder
    from core.model.instrument import instrument_for

    ds = load_dataset(data)
    torch.manual_seed(0)
    model = SpectrumAutoencoder(ModelConfig(**SMALL), energy_edges=ds.energy_edges)
    inst, idx = instrument_for(ds.responses, len(ds.catalog), model.photon_edges.numpy(), ds.energy_edges)
    batch = (torch.as_tensor(np.array(ds.spectra[:32], np.float32)),
             torch.as_tensor(np.array(ds.background[:32], np.float32)),
             torch.ones(32, ds.n_bins), torch.as_tensor(idx[:32]))
    model.eval()  # no dropout: the draws alone differ
    losses = [batch_loss(model, *batch, c, np.random.default_rng(s), inst)
              for c, s in ((tc, 0), (tc, 0), (tc, 1), (TrainConfig(), 0))]
    assert losses[0] == losses[1] and losses[0] != losses[2] and losses[0] != losses[3]
    losses[0].backward()
    assert model.token_in.weight.grad.abs().sum() > 0


def test_old_configs_load_without_augmentation_and_bad_ones_are_refused():
    old = TrainConfig.from_dict({"seed": 0})
    assert old.response_aug == 0.0 and old.count_weight == 0.0
    with pytest.raises(ConfigError):
        TrainConfig(response_aug=1.0, consistency_weight=1.0)
    with pytest.raises(ConfigError):
        TrainConfig(count_weight=2.0)
