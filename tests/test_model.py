"""The autoencoder: shapes, config validation, the count loss, overfitting one batch, checkpoint round trip."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from core.model import ModelConfig, SpectrumAutoencoder, load_model, save_model
from core.model.likelihood import multinomial_kl

SMALL = dict(n_bins=30, bins_per_token=4, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32)
EDGES = np.linspace(0.5, 7.0, 31)


def small_model(**kw) -> SpectrumAutoencoder:
    torch.manual_seed(0)
    return SpectrumAutoencoder(ModelConfig(**{**SMALL, **kw}), energy_edges=EDGES)


def poisson_batch(n: int = 8, seed: int = 0, level: float = 50.0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    shape = torch.rand(n, 30, generator=g) ** 4 + 0.01
    shape = shape / shape.sum(dim=1, keepdim=True)
    bkg = torch.full((n, 30), 0.01)
    counts = torch.poisson(shape * level + bkg, generator=g)
    return counts, bkg, torch.ones_like(counts)


@pytest.mark.parametrize("field,value,words", [
    ("latent_dim", 0, "latent_dim=0"), ("dropout", 1.5, "dropout=1.5"), ("n_layers", 2.5, "n_layers=2.5"),
    ("input_transform", "cube", "input_transform='cube'"), ("bins_per_token", 31, "[1, 30]"),
])
def test_bad_config_value_names_the_field_and_range(field, value, words):
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("(", r"\(")):
        ModelConfig(**{**SMALL, field: value})


def test_heads_must_divide_width():
    with pytest.raises(ConfigError, match="multiple of n_heads"):
        ModelConfig(**{**SMALL, "d_model": 30, "n_heads": 4})


def test_shapes_and_normalised_decoder():
    model = small_model().eval()  # 30 bins in tokens of 4: the last token is padded
    counts, bkg, w = poisson_batch()
    shape, z = model(counts, bkg, w)
    assert z.shape == (8, 8) and shape.shape == (8, 30)
    assert torch.allclose(shape.sum(dim=1), torch.ones(8))
    assert torch.equal(model.encode(counts, bkg), model.encode(counts, bkg, w))
    assert model.energy_edges.shape == (31,)


def test_loss_is_zero_for_the_observed_shape_and_matches_a_hand_computation():
    counts = torch.tensor([[2.0, 0.0, 3.0, 5.0]])
    no_bkg = torch.zeros_like(counts)
    w = torch.ones_like(counts)
    exact = torch.log(counts.clamp(min=1e-30) / counts.sum())
    assert multinomial_kl(exact, counts, no_bkg, w).item() == pytest.approx(0.0, abs=1e-5)
    flat = torch.log(torch.full((1, 4), 0.25))
    obs = np.array([0.2, 0.0, 0.3, 0.5])
    want = sum(o * math.log(o / 0.25) for o in obs if o > 0)
    assert multinomial_kl(flat, counts, no_bkg, w).item() == pytest.approx(want, rel=1e-5)
    # background adds to the source: p = (S s + b) / N with S = N - B
    bkg = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    p = (8.0 * 0.25 + bkg[0].numpy()) / 10.0
    want_b = sum(o * math.log(o / q) for o, q in zip(obs, p) if o > 0)
    assert multinomial_kl(flat, counts, bkg, w).item() == pytest.approx(want_b, rel=1e-5)
    # a bad bin is left out and p renormalised over the good ones
    w_bad = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    obs_g = np.array([0.4, 0.0, 0.6])
    want_w = sum(o * math.log(o / (1 / 3)) for o in obs_g if o > 0)
    assert multinomial_kl(flat, counts, no_bkg, w_bad).item() == pytest.approx(want_w, rel=1e-5)


def test_gradients_finite_with_empty_spectra_and_bad_bins():
    model = small_model()
    counts, bkg, w = poisson_batch(level=5.0)
    counts[0] = 0
    w[:, 3] = 0
    model.loss(counts, bkg, w).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("loss_norm", ["spectrum", "photon"])
def test_overfits_one_small_batch(loss_norm):
    model = small_model(loss_norm=loss_norm)
    counts, bkg, w = poisson_batch(n=8, level=400.0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(model.loss(counts, bkg, w).detach())
    for _ in range(300):
        opt.zero_grad()
        loss = model.loss(counts, bkg, w)
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.07 * first  # 240 photon bins decoded, folded onto 30 channel bins


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = small_model(input_transform="log").eval()
    save_model(model, tmp_path / "model.safetensors")
    again = load_model(tmp_path)
    counts, bkg, w = poisson_batch()
    assert again.config == model.config and not again.training
    assert torch.equal(again.energy_edges, model.energy_edges)
    for a, b in zip(model(counts, bkg, w), again(counts, bkg, w)):
        assert torch.equal(a, b)


def test_input_square_root_equals_torch_sqrt_bitwise_zeros_included():
    """The encoder's inputs take the square root through ``_sqrt`` (it skips sqrt of exact zeros, slow here):
    the values must be torch.sqrt's exactly, zeros and tiny values included."""
    from core.model.autoencoder import _sqrt

    g = torch.Generator().manual_seed(0)
    x = torch.poisson(torch.rand(64, 112, generator=g) * 2, generator=g) / 1.7  # about half zeros
    x[0, :5] = torch.tensor([0.0, float("nan"), 1e-30, torch.finfo(torch.float32).tiny, 7.5])
    assert (x == 0).float().mean() > 0.3
    assert torch.equal(_sqrt(x).view(torch.int32), torch.sqrt(x).view(torch.int32))  # bitwise (NaN too)
    assert torch.equal(_sqrt(x[:, ::2]), torch.sqrt(x[:, ::2]))  # a strided view too
