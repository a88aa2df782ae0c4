"""The encoder's inference path (core.model.inference) computes the same latents as the model's own encode."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.model import ModelConfig, SpectrumAutoencoder
from core.model.attention import attend
from core.model.inference import EncoderInference
from core.model.kernels import choose_kernels
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


@pytest.mark.parametrize("kernels", ["c", "torch", "sdpa"])
@pytest.mark.parametrize("chunk,pool_only_last", [(1, True), (7, True), (128, True), (7, False), (128, False)])
def test_same_latents_as_encode_through_each_response(chunk, pool_only_last, kernels):
    if kernels == "c" and choose_kernels("auto")[0] is None:
        pytest.skip(choose_kernels("auto")[1])
    model = _model()
    counts, background, weights = _spectra(301)
    inst, index = _instrument(model, 301)
    with torch.no_grad():
        want = model.encode(counts, background, weights, inst, index)
    sdpa = kernels == "sdpa"  # torch's scaled_dot_product_attention, as on a GPU
    got = EncoderInference(model, chunk=chunk, pool_only_last=pool_only_last, kernels="torch" if sdpa else kernels,
                           sdpa=sdpa)(counts, background, weights, inst, index)
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


def _encoder_views(q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """q (heads, n, t, hd) and k^T (heads, n, hd, t) as the encoder hands them to attend: strided views of one
    wide (2 * heads * hd, n * t) buffer."""
    h, n, t, hd = q.shape
    wide = torch.cat([q.permute(0, 3, 1, 2).reshape(h * hd, n * t), k.permute(0, 3, 1, 2).reshape(h * hd, n * t)])
    qv = wide[:h * hd].view(h, hd, n, t).permute(0, 2, 3, 1)
    kv = wide[h * hd:].view(h, hd, n, t).permute(0, 2, 1, 3)
    assert torch.equal(qv, q) and torch.equal(kv, k.transpose(2, 3))
    return qv, kv


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, buffers: bool = False) -> torch.Tensor:
    """What attend gives for q, k, v (heads, n, t, hd), as (heads, n, t, hd) (``buffers``: written into
    preallocated scores and attended buffers, as the encoder's workspace does)."""
    h, n, t, hd = q.shape
    out = (torch.full((h * n, t, t), float("nan")), torch.full((h * n, t, hd), float("nan"))) if buffers else ()
    attended, scale = attend(*_encoder_views(q, k), v.reshape(h * n, t, hd), *out)
    return (attended * scale).view(h, n, t, hd)


def _softmax_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.softmax(q @ k.transpose(2, 3), dim=-1) @ v


@pytest.mark.parametrize("buffers", [False, True])
def test_attention_matches_softmax_for_scores_that_overflow_exp(buffers):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 15, 16, generator=g) for _ in range(3))
    q[1, 0] *= 30.0  # scores far above 69: exp() overflows (or the row sum passes 1e30) without a shift
    q[0, 2, 4] *= -200.0  # one row with scores of both signs far outside exp()'s range
    assert (q @ k.transpose(2, 3)).max() > 100
    got = _attention(q, k, v, buffers)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, _softmax_attention(q, k, v), atol=1e-5)


@pytest.mark.parametrize("buffers", [False, True])
def test_attention_unshifted_path_and_its_underflow_fallback(buffers, monkeypatch):
    """A row whose scores all sit below ~-87 underflows exp() and must still come out right (the fallback), the
    other rows untouched by it; calm scores never reach the fallback."""
    g = torch.Generator().manual_seed(1)
    q, v = torch.randn(2, 4, 15, 16, generator=g), torch.randn(2, 4, 15, 16, generator=g)
    k = torch.randn(2, 4, 15, 16, generator=g).abs() + 0.5
    q[1, 2, 7] = -q[1, 2, 7].abs() - 20.0  # every score of this row below -87: exp() gives 0 for all of them
    scores = q @ k.transpose(2, 3)
    assert scores.max() < 69 and (scores[1, 2, 7] < -88).all()
    got = _attention(q, k, v, buffers)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, _softmax_attention(q, k, v), atol=1e-5)
    calm = 0.3 * torch.randn(2, 4, 15, 16, generator=g)
    want = _softmax_attention(calm, k, v)

    def no_fallback(*args, **kwargs):
        raise AssertionError("calm scores took the fallback")

    monkeypatch.setattr(torch, "softmax", no_fallback)
    assert torch.allclose(_attention(calm, k, v, buffers), want, atol=1e-5)


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


def test_sdpa_is_what_runs_when_asked_and_by_default_only_off_the_cpu(monkeypatch):
    calls = []
    real = torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention",
                        lambda *a, **kw: calls.append(1) or real(*a, **kw))
    model = _model()
    counts, background, weights = _spectra(20)
    EncoderInference(model, kernels="torch", sdpa=True)(counts, background, weights)
    assert len(calls) == len(model.transformer.layers)
    calls.clear()
    enc = EncoderInference(model, kernels="torch")
    enc(counts, background, weights)
    assert not enc.sdpa and not calls  # on a CPU the products per head are the faster torch path


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")  # inductor's imports
def test_compiled_path_gives_the_same_latents():
    """compile=True (meant for GPUs): torch.compile of the chunk's computation, with torch operators and sdpa."""
    model = _model()
    counts, background, weights = _spectra(64)
    with torch.no_grad():
        want = model.encode(counts, background, weights)
    enc = EncoderInference(model, chunk=32, compile=True)  # one chunk size: one compilation (~10 s here)
    assert enc.kernels == "torch" and enc.sdpa
    got = enc(counts, background, weights)
    assert torch.allclose(got, want, atol=2e-5, rtol=1e-5), float((got - want).abs().max())
    with pytest.raises(ValueError, match="cannot take kernels='c'"):
        EncoderInference(model, compile=True, kernels="c")
