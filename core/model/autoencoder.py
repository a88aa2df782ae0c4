"""``SpectrumAutoencoder``: a transformer encoder over energy tokens and an MLP decoder to a spectral shape.

Encoder. The B bins are cut into T = ceil(B / bins_per_token) tokens of adjacent bins. A token's features are,
for each of its bins, the transformed counts, the transformed background and the bin's weight (0 for bad
channels, and for the zero padding of a last, partial token). Counts are made relative to the spectrum's mean
count per bin before the transform (``sqrt`` stabilises the Poisson variance; ``log`` compresses the range), so
the token features describe shape, not brightness. Each token gets a sinusoidal encoding of the log of its
centre energy (the "energy position encoding": position means energy, not index). A pooling token, prepended
to the sequence, is conditioned on the count level (log10 of the counts, background fraction): a faint
spectrum's shape is noisier, and the encoder is told how much to trust it. The pooling token's output,
projected, is the latent.

Decoder. An MLP maps the latent to logits over the whole grid; the softmax is the source's spectral shape
(rows sum to 1). Brightness is not decoded: the loss scales the shape by the observed counts.

Loss (the choice, documented as the issue asks). Given the decoded source shape s and the expected background b
(counts, known), the expected counts are mu_i = S s_i + b_i with S the source counts. Conditioning on the
observed total N turns the independent Poisson likelihood into a multinomial over bins with probabilities
p_i = mu_i / sum_j mu_j, and the maximum-likelihood S is N - B (clipped at a tiny positive value when the
background explains everything); with this S the multinomial and the Poisson likelihoods have the same maximum,
so the loss is the exact count likelihood, valid at a handful of counts, where a Gaussian/chi-square loss is
biased. Bad bins (weight 0) are left out and p is renormalised over the good ones. Per spectrum we report
KL(observed shape || p) = -(1/N) sum_i c_i log p_i + const, i.e. the multinomial negative log-likelihood per
count minus its saturated value (>= 0, zero for a perfect fit). With ``loss_norm="spectrum"`` every spectrum
weighs the same in the batch mean: in expectation over the Poisson noise this is KL(true shape || model) plus a
constant, exactly the reconstruction measure of docs/design.md. With ``"photon"`` every count weighs the same (the
plain joint likelihood, dominated by bright spectra).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.model.config import ModelConfig
from core.model.likelihood import multinomial_kl

def default_energy_edges(n_bins: int) -> np.ndarray:
    from core.spectra.energy import EnergyGrid

    edges = EnergyGrid().edges
    if len(edges) - 1 != n_bins:
        raise ConfigError(f"n_bins={n_bins} does not match the default grid ({len(edges) - 1} bins); "
                          f"pass the dataset's energy_edges")
    return edges


class SpectrumAutoencoder(nn.Module):
    def __init__(self, config: ModelConfig, energy_edges: np.ndarray | Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        c = config
        edges = default_energy_edges(c.n_bins) if energy_edges is None else energy_edges
        edges = torch.as_tensor(np.asarray(edges, dtype=np.float64), dtype=torch.float32)
        if edges.shape != (c.n_bins + 1,):
            raise ConfigError(f"energy_edges has shape {tuple(edges.shape)}; expected ({c.n_bins + 1},)")
        self.register_buffer("energy_edges", edges)  # (B + 1,) keV
        self.register_buffer("token_energy", self._token_energy_features(edges))  # (T, 2 * n_freqs)

        k = c.bins_per_token
        self.pad = c.n_tokens * k - c.n_bins
        self.token_in = nn.Linear(3 * k, c.d_model)
        self.energy_in = nn.Linear(2 * c.n_energy_freqs, c.d_model)
        self.pool_token = nn.Parameter(torch.zeros(c.d_model))
        self.level_in = nn.Linear(2, c.d_model)
        layer = nn.TransformerEncoderLayer(c.d_model, c.n_heads, dim_feedforward=4 * c.d_model, dropout=c.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.d_model)
        self.to_latent = nn.Linear(c.d_model, c.latent_dim)
        h = c.decoder_hidden
        self.decoder = nn.Sequential(
            nn.Linear(c.latent_dim, h), nn.GELU(),
            nn.Linear(h, h), nn.GELU(),
            nn.Linear(h, c.n_bins),
        )
        nn.init.normal_(self.pool_token, std=0.02)

    def _token_energy_features(self, edges: Tensor) -> Tensor:
        c = self.config
        centres = 0.5 * (edges[1:] + edges[:-1])  # (B,)
        k = c.bins_per_token
        pad = c.n_tokens * k - c.n_bins
        if pad:
            centres = torch.cat([centres, centres[-1] + (centres[-1] - centres[-2]) * torch.arange(1, pad + 1)])
        log_e = torch.log(centres.view(c.n_tokens, k).mean(dim=1))  # (T,)
        span = float(log_e.max() - log_e.min()) or 1.0
        x = (log_e - log_e.min()) / span  # (T,) in [0, 1]
        freqs = math.pi * 2.0 ** torch.arange(c.n_energy_freqs, dtype=torch.float32) / 2  # (F,)
        angles = x[:, None] * freqs[None, :]  # (T, F)
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)  # (T, 2F)

    # ---- encoder -------------------------------------------------------------------------------------------
    def _inputs(self, counts: Tensor, background: Tensor, weights: Tensor | None) -> tuple[Tensor, Tensor]:
        """Token features (N, T, 3k) and count-level features (N, 2)."""
        c = self.config
        w = torch.ones_like(counts) if weights is None else weights  # (N, B)
        counts = counts * w
        background = background * w
        total = counts.sum(dim=1, keepdim=True)  # (N, 1)
        per_bin = total.clamp(min=1.0) / w.sum(dim=1, keepdim=True).clamp(min=1.0)  # (N, 1) mean counts per bin
        if c.input_transform == "sqrt":
            x, xb = torch.sqrt(counts / per_bin), torch.sqrt(background / per_bin)
        else:
            x, xb = torch.log1p(counts / per_bin), torch.log1p(background / per_bin)
        feats = torch.stack([x, xb, w], dim=2)  # (N, B, 3)
        if self.pad:
            feats = nn.functional.pad(feats, (0, 0, 0, self.pad))  # (N, T*k, 3)
        tokens = feats.view(len(counts), c.n_tokens, c.bins_per_token * 3)  # (N, T, 3k)
        bkg_frac = (background.sum(dim=1, keepdim=True) / total.clamp(min=1.0)).clamp(max=1.0)  # (N, 1)
        level = torch.cat([torch.log10(total + 1.0) / 2.0 - 1.0, bkg_frac], dim=1)  # (N, 2)
        return tokens, level

    def encode(self, counts: Tensor, background: Tensor, weights: Tensor | None = None) -> Tensor:
        """counts, background, weights: (N, B) -> latent (N, D)."""
        tokens, level = self._inputs(counts, background, weights)
        h = self.token_in(tokens) + self.energy_in(self.token_energy)[None]  # (N, T, d)
        pool = (self.pool_token + self.level_in(level))[:, None, :]  # (N, 1, d)
        h = self.transformer(torch.cat([pool, h], dim=1))  # (N, 1 + T, d)
        return self.to_latent(self.norm(h[:, 0]))  # (N, D)

    # ---- decoder -------------------------------------------------------------------------------------------
    def decode_log(self, z: Tensor) -> Tensor:
        """latent (N, D) -> log shape (N, B), logsumexp over bins = 0."""
        return torch.log_softmax(self.decoder(z), dim=1)

    def decode(self, z: Tensor) -> Tensor:
        """latent (N, D) -> source shape (N, B), rows sum to 1."""
        return self.decode_log(z).exp()

    def forward(self, counts: Tensor, background: Tensor, weights: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """-> (shape (N, B), latent (N, D))."""
        z = self.encode(counts, background, weights)
        return self.decode(z), z

    # ---- loss ----------------------------------------------------------------------------------------------
    def spectrum_loss(self, counts: Tensor, background: Tensor, weights: Tensor | None = None,
                      target: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Per-spectrum KL(observed shape || predicted bin probabilities), (N,); see the module docstring.

        ``target``: (counts, background) the prediction is scored against, when they are not the input's own
        (count splitting in training: the input is one binomial part of the counts, the target the other).
        """
        w = torch.ones_like(counts) if weights is None else weights  # (N, B)
        log_s = self.decode_log(self.encode(counts, background, w))  # (N, B)
        t_counts, t_background = (counts, background) if target is None else target
        return multinomial_kl(log_s, t_counts, t_background, w)

    def loss(self, counts: Tensor, background: Tensor, weights: Tensor | None = None,
             target: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Scalar training loss over a batch (counts, background, weights: (N, B))."""
        per = self.spectrum_loss(counts, background, weights, target)  # (N,)
        if self.config.loss_norm == "spectrum":
            return per.mean()
        t_counts = counts if target is None else target[0]
        n = (t_counts * (torch.ones_like(t_counts) if weights is None else weights)).sum(dim=1)  # (N,)
        return (per * n).sum() / n.sum().clamp(min=1.0)
