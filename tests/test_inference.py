"""The encoder's inference path (core.model.inference) computes the same latents as the model's own encode."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.model import ModelConfig, SpectrumAutoencoder
from core.model.inference import EncoderInference, _attention_weights
from core.model.instrument import Instrument


def _model(**kw) -> SpectrumAutoencoder:
    torch.manual_seed(3)
    model = SpectrumAutoencoder(ModelConfig(**kw)).eval()
    with torch.no_grad():  # weights away from their initial values, so that every part of the layers matters
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def _spectra(n: int, n_bins: int = 112, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    counts = torch.poisson(torch.rand(n, n_bins, generator=g) * torch.logspace(-1, 2, n)[:, None], generator=g)
    background = torch.rand(n, n_bins, generator=g) * 0.3
    weights = torch.ones(n, n_bins)
    weights[:, :3] = 0  # bad channels
    return counts, background, weights


def _instrument(model: SpectrumAutoencoder, n: int) -> tuple[Instrument, torch.Tensor]:
    pe, ce = model.photon_edges.numpy(), model.energy_edges.numpy()
    rng = np.random.default_rng(1)
    matrices = rng.random((3, len(pe) - 1, len(ce) - 1)).astype(np.float32) / len(ce)
    return Instrument(matrices, pe, ce), torch.as_tensor(rng.integers(0, 3, n), dtype=torch.long)


@pytest.mark.parametrize("chunk", [1, 7, 128])
def test_same_latents_as_encode_through_each_response(chunk):
    model = _model()
    counts, background, weights = _spectra(301)
    inst, index = _instrument(model, 301)
    with torch.no_grad():
        want = model.encode(counts, background, weights, inst, index)
    got = EncoderInference(model, chunk=chunk)(counts, background, weights, inst, index)
    assert got.shape == want.shape == (301, 8)
    assert torch.allclose(got, want, atol=2e-5, rtol=1e-5), float((got - want).abs().max())


def test_same_latents_for_the_reference_response_and_a_counts_model():
    for model in (_model(), _model(instrument="none", response_input=False)):
        counts, background, _ = _spectra(50, seed=2)
        with torch.no_grad():
            want = model.encode(counts, background)
        got = EncoderInference(model)(counts, background)
        assert torch.allclose(got, want, atol=2e-5, rtol=1e-5)


def test_no_spectra_and_wrong_chunk():
    model = _model()
    assert EncoderInference(model)(torch.zeros(0, 112), torch.zeros(0, 112)).shape == (0, 8)
    with pytest.raises(ValueError, match="chunk=0"):
        EncoderInference(model, chunk=0)


def test_attention_weights_match_softmax_even_for_rows_far_below_their_block():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(6, 15, 16, generator=g), torch.randn(6, 15, 16, generator=g)
    q[2, 4] *= -200.0  # one row's scores all far below the block's largest: the block-wide shift underflows it
    q[3] *= 30.0
    scores = q @ k.transpose(1, 2)
    shifted = (scores - scores.amax(dim=(1, 2), keepdim=True)).exp().sum(dim=-1)
    assert (shifted < 1e-30).any()  # the case the fallback is there for
    want = torch.softmax(scores, dim=-1)
    got = _attention_weights(q, k)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.allclose(got.sum(dim=-1), torch.ones(6, 15))


def test_attention_weights_unshifted_path_and_its_underflow_fallback():
    """Scores all below the shift threshold skip the shift; a row whose scores all sit below ~-87 underflows
    exp() there and must still come out right (the fallback), the other rows untouched by it."""
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(5, 15, 16, generator=g), torch.randn(5, 15, 16, generator=g).abs() + 0.5
    q[1, 7] = -q[1, 7].abs() - 20.0  # every score of this row below -87: exp() gives 0 for all of them
    scores = q @ k.transpose(1, 2)
    assert scores.max() < 80 and (scores[1, 7] < -88).all()
    got = _attention_weights(q, k)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, torch.softmax(scores, dim=-1), atol=1e-6)
    calm = torch.randn(5, 15, 16, generator=g) * 0.3
    assert torch.allclose(_attention_weights(calm, k), torch.softmax(calm @ k.transpose(1, 2), dim=-1), atol=1e-6)


def test_bf16_is_close_but_float32_stays_the_default():
    model = _model()
    counts, background, weights = _spectra(40, seed=4)
    with torch.no_grad():
        want = model.encode(counts, background, weights)
    fast = EncoderInference(model)
    assert not fast.bf16
    got = EncoderInference(model, bf16=True)(counts, background, weights)
    assert got.dtype == torch.float32
    assert torch.allclose(got, want, atol=0.1, rtol=0.05)
    assert not torch.equal(got, want)  # bfloat16 really ran


def test_threads_give_the_same_latents_in_the_same_order():
    model = _model()
    counts, background, weights = _spectra(200, seed=5)
    one = EncoderInference(model, chunk=16)(counts, background, weights)
    before = torch.get_num_threads()
    two = EncoderInference(model, chunk=16, threads=2)(counts, background, weights)
    assert torch.equal(one, two)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads=0"):
        EncoderInference(model, threads=0)


@pytest.mark.parametrize("threads", [1, 2])
def test_buffers_kept_between_calls_carry_nothing_over(threads):
    """Each thread's buffers are written by every chunk it encodes and kept between calls: a second call (with a
    short last chunk, then a call of other spectra) must give what a fresh object gives."""
    model = _model()
    inst, index = _instrument(model, 90)
    first, second = _spectra(90, seed=5), _spectra(90, seed=6)
    enc = EncoderInference(model, chunk=32, threads=threads)
    enc(first[0], first[1], first[2], inst, index)
    again = enc(second[0][:70], second[1][:70], second[2][:70], inst, index[:70])
    fresh = EncoderInference(model, chunk=32)(second[0][:70], second[1][:70], second[2][:70], inst, index[:70])
    assert torch.equal(again, fresh)
    assert not torch.is_inference(again)  # the latents can go on into autograd (latent refinement)
