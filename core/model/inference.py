"""``EncoderInference``: the encoder of a trained ``SpectrumAutoencoder`` for inference, the same function as
``SpectrumAutoencoder.encode`` computed with fewer passes over memory.

Why a second path. At this model's shapes (1 + 14 tokens, d_model 64, 4 heads of 16) torch's generic layers spend
most of the encoder's time outside the matrix multiplies (measured with torch.profiler, one CPU thread): the
softmax kernel runs about 20 ns per element on rows of 15, the fused "fastpath" layer and the CPU
flash-attention kernel are built for long sequences, and every bias, residual and GELU is a separate pass over
freshly allocated memory. Here, per transformer layer:

- the query weights carry the attention's 1/sqrt(head_dim) (one multiply fewer);
- queries, keys and values are projected by one batched multiply over (q/k/v, head) that writes each head's
  values contiguously, bias included (no permute or bias pass);
- attention is two batched matrix multiplies over (spectra x heads) with the softmax written out in place,
  shifted by each head's largest score (``_attention_weights``);
- the output projection and the second feed-forward matrix add into the residual stream in place (``addmm_``,
  no copy of the stream); GELU runs in place on the feed-forward buffer;
- spectra go through in chunks (128 by default), so that a layer's buffers stay in a core's cache.

Dropout is off (inference). The result matches ``encode`` in eval mode to float32 rounding (tests/test_inference.py).
The weights are copied when the object is built, so build it after training: it does not follow later updates.
On a GPU, ``bf16=True`` runs the matrix multiplies in bfloat16 under ``torch.autocast`` (latents then differ
from float32 by about 1e-2 relative; float32 stays the default everywhere).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.model.autoencoder import SpectrumAutoencoder
from core.model.instrument import Instrument


def _attention_weights(q: Tensor, k: Tensor) -> Tensor:
    """softmax(q @ k^T) over the last axis, for q, k (batch, t, hd) (the scale is already in q).

    The shift that keeps exp() from overflowing is the largest score of each (t, t) block rather than of each
    row: one reduction over t * t numbers instead of t reductions over t, which at t = 15 took most of the
    softmax's time. Any shift per row gives the same softmax, to float rounding, unless a row's scores all sit
    so far (~70) below its block's largest that their exponentials leave float32's normal range; those blocks
    (never seen on the demo) are computed again with torch's row-wise softmax."""
    scores = torch.bmm(q, k.transpose(1, 2))  # (batch, t, t)
    b = len(scores)
    scores -= scores.view(b, -1).amax(dim=1).view(b, 1, 1)
    scores.exp_()
    sums = scores.sum(dim=-1, keepdim=True)
    scores.div_(sums)
    bad = (sums < 1e-30).view(b, -1).any(dim=1)
    if bool(bad.any()):
        scores[bad] = torch.softmax(torch.bmm(q[bad], k[bad].transpose(1, 2)), dim=-1)
    return scores


class _Layer:
    """One pre-norm ``nn.TransformerEncoderLayer``'s weights, laid out for ``EncoderInference``."""

    def __init__(self, layer: nn.TransformerEncoderLayer, n_heads: int) -> None:
        attn = layer.self_attn
        d = attn.embed_dim
        hd = d // n_heads
        w_qkv = attn.in_proj_weight.detach().clone()  # (3d, d): rows q, k, v; within each, head-major
        b_qkv = attn.in_proj_bias.detach().clone()
        w_qkv[:d] *= hd ** -0.5
        b_qkv[:d] *= hd ** -0.5
        # (3 * heads, d, hd): one matrix per (q/k/v, head), so that one batched multiply writes each head's
        # queries, keys and values contiguously, ready for attention (no separate permute and bias passes)
        self.w_qkv = w_qkv.view(3 * n_heads, hd, d).transpose(1, 2).contiguous()
        self.b_qkv = b_qkv.view(3 * n_heads, 1, hd)
        self.w_out = attn.out_proj.weight.detach().t().contiguous()
        self.b_out = attn.out_proj.bias.detach().clone()
        self.w_ff1 = layer.linear1.weight.detach().t().contiguous()
        self.b_ff1 = layer.linear1.bias.detach().clone()
        self.w_ff2 = layer.linear2.weight.detach().t().contiguous()
        self.b_ff2 = layer.linear2.bias.detach().clone()
        self.norm1 = (layer.norm1.weight.detach().clone(), layer.norm1.bias.detach().clone(), layer.norm1.eps)
        self.norm2 = (layer.norm2.weight.detach().clone(), layer.norm2.bias.detach().clone(), layer.norm2.eps)


class EncoderInference:
    """``EncoderInference(model)(counts, background, weights, instrument, index)`` -> latents (N, D), as
    ``model.encode`` in eval mode returns them."""

    def __init__(self, model: SpectrumAutoencoder, chunk: int = 128, bf16: bool = False, threads: int = 1) -> None:
        layers = model.transformer.layers
        if any(not (lay.norm_first and lay.activation_relu_or_gelu == 2) for lay in layers):
            raise ValueError("EncoderInference needs pre-norm GELU transformer layers (the model's own)")
        if chunk < 1:
            raise ValueError(f"chunk={chunk}: must be at least 1")
        if threads < 1:
            raise ValueError(f"threads={threads}: must be at least 1")
        self.model, self.chunk, self.bf16, self.threads = model, chunk, bf16, threads
        self.n_heads = model.config.n_heads
        self.layers = [_Layer(lay, self.n_heads) for lay in layers]
        with torch.no_grad():
            self.energy = model.energy_in(model.token_energy)[None]  # (1, T, d): the same for every spectrum
            # the response seen when none is given, computed once rather than per chunk
            self.reference_area = model.reference_area()[None] if model.n_features == 4 else None

    def __call__(self, counts: Tensor, background: Tensor, weights: Tensor | None = None,
                 instrument: Instrument | None = None, index: Tensor | None = None) -> Tensor:
        """Latents (N, D). With ``threads`` > 1 the chunks are encoded side by side on that many threads (torch
        releases the GIL inside its operators), torch's own per-operator threading set to one thread meanwhile
        (process-wide, restored after); each chunk's latents do not depend on the thread that computed them."""
        m = self.model
        with torch.no_grad():
            area = instrument.area(index) if instrument is not None and m.n_features == 4 else None

        def one(i: int) -> Tensor:
            sl = slice(i, i + self.chunk)
            with torch.no_grad(), torch.autocast(counts.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                return self._encode(counts[sl], background[sl], None if weights is None else weights[sl],
                                    self.reference_area if area is None else area[sl]).float()

        starts = range(0, len(counts), self.chunk)
        if self.threads > 1 and len(starts) > 1:
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with ThreadPoolExecutor(self.threads) as pool:
                    out = list(pool.map(one, starts))
            finally:
                torch.set_num_threads(before)
        else:
            out = [one(i) for i in starts]
        return torch.cat(out) if out else torch.empty(0, m.config.latent_dim, device=counts.device)

    def _encode(self, counts: Tensor, background: Tensor, weights: Tensor | None, area: Tensor | None) -> Tensor:
        m = self.model
        tokens, level = m._inputs(counts, background, weights, area)
        pool = (m.pool_token + m.level_in(level))[:, None, :]  # (n, 1, d)
        x = torch.cat([pool, m.token_in(tokens) + self.energy], dim=1)  # (n, t, d)
        n, t, d = x.shape
        x = x.reshape(n * t, d)
        if x.dtype != self.energy.dtype:  # autocast gave bfloat16: keep the residual stream in float32
            x = x.float()
        for layer in self.layers:
            x = self._layer(layer, x, n, t)
        return m.to_latent(m.norm(x.view(n, t, d)[:, 0]))

    def _layer(self, w: _Layer, x: Tensor, n: int, t: int) -> Tensor:
        d = x.shape[1]
        h = self.n_heads
        hd = d // h
        y = F.layer_norm(x, (d,), *w.norm1[:2], eps=w.norm1[2])
        # (3 * heads, n * t, hd) = (q/k/v, head, spectrum, token, hd); y is broadcast, not copied
        qkv = torch.baddbmm(w.b_qkv, y.expand(3 * h, n * t, d), w.w_qkv).view(3, h * n, t, hd)
        attended = torch.bmm(_attention_weights(qkv[0], qkv[1]), qkv[2])  # (heads * n, t, hd)
        attended = attended.view(h, n * t, hd).transpose(0, 1).reshape(n * t, d)  # heads side by side
        x += w.b_out
        x = self._add_product(x, attended, w.w_out)
        y = F.layer_norm(x, (d,), *w.norm2[:2], eps=w.norm2[2])
        ff = torch.ops.aten.gelu_(torch.addmm(w.b_ff1, y, w.w_ff1))
        x += w.b_ff2
        return self._add_product(x, ff, w.w_ff2)

    def _add_product(self, x: Tensor, a: Tensor, w: Tensor) -> Tensor:
        """x + a @ w into the float32 residual stream x: in place, or (bf16) the product under autocast."""
        if self.bf16:
            return x + torch.mm(a, w).float()
        return x.addmm_(a, w)
