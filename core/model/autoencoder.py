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

Decoder (``instrument="fold"``, the default). An MLP maps the latent to logits over the photon grid (240 log-spaced
bins, 0.3-10 keV); the softmax is the source's photon spectrum shape (photon fractions per bin), free of any
instrument. ``core.model.instrument.Instrument`` folds it through each spectrum's own ARF x RMF into a counts
shape on the channel grid; the encoder is told that response (the shape of its effective area, one more feature
per bin of each token). So ACIS-I 2005 and contaminated ACIS-S 2020 spectra of one source can share one latent.
With ``instrument="none"`` (models trained before responses were stored) the decoder gives the counts shape.

Loss. Given the folded source shape p (normalised over good bins) and the expected background b (counts, known),
the expected counts are mu_i = S p_i + b_i. The source counts S are fitted by maximum likelihood given the
background (``likelihood.ml_source_counts``: S >= 0, a few safeguarded Newton steps, no gradient through S; by the
envelope theorem none is needed), not set to N - B: a spectrum whose counts do not exceed the background still
constrains the shape wherever its counts sit above the background. The loss per spectrum is the Poisson deviance
/ (2 N) (``likelihood.poisson_ml_loss``): zero for a perfect fit, exact at a handful of counts, where a
chi-square loss is biased. Bad bins (weight 0) are left out. With ``loss_norm="spectrum"`` every spectrum weighs
the same in the batch mean (in expectation over the Poisson noise, the distance of the true shape from the model
plus a constant: the reconstruction measure of docs/design.md); with ``"photon"`` every count weighs the same.
The ``"none"`` model keeps its multinomial loss with S = N - B (``likelihood.multinomial_kl``).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.model.config import ModelConfig
from core.model.instrument import Instrument, area_feature, nominal_matrix
from core.model.likelihood import multinomial_kl, poisson_ml_loss
from core.spectra.response_grid import PhotonGrid

def default_energy_edges(n_bins: int) -> np.ndarray:
    from core.spectra.energy import EnergyGrid

    edges = EnergyGrid().edges
    if len(edges) - 1 != n_bins:
        raise ConfigError(f"n_bins={n_bins} does not match the default grid ({len(edges) - 1} bins); "
                          f"pass the dataset's energy_edges")
    return edges


def _sqrt(x: Tensor) -> Tensor:
    """torch.sqrt(x) without taking the square root of zeros: measured here (one thread, 57,344 floats) sqrt ran
    at ~4 ns an element on zeros and subnormal numbers against ~0.15 ns on normal ones (numpy's too; a mask-based
    version was slower still: torch's masked_fill and where took ~0.25 ms on the same floats), and about half of
    the bins of a spectrum hold no counts. Zeros go in as the dtype's smallest normal number and come out times
    sign(x). Bitwise equal to torch.sqrt for 0, NaN and every x at or above that number; -0.0 gives 0.0, a
    subnormal x ~1e-19 for ~sqrt(x) and a negative one ~-1e-19 instead of NaN. The inputs here are counts and
    backgrounds over a positive mean, never negative (the PHA reader refuses negative counts; build-demo draws
    Poisson counts and scales non-negative templates)."""
    return torch.sqrt(x.clamp(min=torch.finfo(x.dtype).tiny)).mul_(torch.sign(x))


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
        if c.folds:
            photon = PhotonGrid(c.photon_e_min, c.photon_e_max, c.n_photon_bins).edges
            self.register_buffer("photon_edges", torch.as_tensor(photon, dtype=torch.float32))  # (E + 1,) keV
            # the response used when none is given (a latent traversal); training sets the training rows' mean
            self.register_buffer("reference_matrix", torch.as_tensor(nominal_matrix(photon, edges.numpy())))

        k = c.bins_per_token
        self.pad = c.n_tokens * k - c.n_bins
        self.n_features = 4 if c.folds and c.response_input else 3  # counts, background, weight (, log area)
        self.token_in = nn.Linear(self.n_features * k, c.d_model)
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
            nn.Linear(h, c.n_decoded),
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
    def _inputs(self, counts: Tensor, background: Tensor, weights: Tensor | None,
                area: Tensor | None) -> tuple[Tensor, Tensor]:
        """Token features (N, T, n_features * k) and count-level features (N, 2)."""
        c = self.config
        if weights is None:  # every bin used (weight 1): the same numbers without multiplying by ones
            used = float(counts.shape[1])
        else:
            counts = counts * weights
            background = background * weights
            used = weights.sum(dim=1, keepdim=True).clamp(min=1.0)
        total = counts.sum(dim=1, keepdim=True)  # (N, 1)
        per_bin = total.clamp(min=1.0) / used  # (N, 1) mean counts per bin
        if c.input_transform == "sqrt":
            x, xb = _sqrt(counts / per_bin), _sqrt(background / per_bin)
        else:
            x, xb = torch.log1p(counts / per_bin), torch.log1p(background / per_bin)
        parts = [x, xb, x.new_ones(()).expand_as(x) if weights is None else weights]
        if self.n_features == 4:
            a = (self.reference_area()[None] if area is None else area).expand_as(x)
            parts.append(a if weights is None else a * weights)
        feats = torch.stack(parts, dim=2)  # (N, B, n_features)
        if self.pad:
            feats = nn.functional.pad(feats, (0, 0, 0, self.pad))  # (N, T*k, n_features)
        tokens = feats.view(len(counts), c.n_tokens, c.bins_per_token * self.n_features)
        bkg_frac = (background.sum(dim=1, keepdim=True) / total.clamp(min=1.0)).clamp(max=1.0)  # (N, 1)
        level = torch.cat([torch.log10(total + 1.0) / 2.0 - 1.0, bkg_frac], dim=1)  # (N, 2)
        return tokens, level

    def reference_area(self) -> Tensor:
        return area_feature(self.reference_matrix, self.photon_edges, self.energy_edges)

    def encode(self, counts: Tensor, background: Tensor, weights: Tensor | None = None,
               instrument: Instrument | None = None, index: Tensor | None = None) -> Tensor:
        """counts, background, weights: (N, B), seen through responses ``index`` (N,) of ``instrument`` (the
        reference response when None) -> latent (N, D)."""
        area = instrument.area(index) if instrument is not None and self.n_features == 4 else None
        tokens, level = self._inputs(counts, background, weights, area)
        h = self.token_in(tokens) + self.energy_in(self.token_energy)[None]  # (N, T, d)
        pool = (self.pool_token + self.level_in(level))[:, None, :]  # (N, 1, d)
        h = self.transformer(torch.cat([pool, h], dim=1))  # (N, 1 + T, d)
        return self.to_latent(self.norm(h[:, 0]))  # (N, D)

    # ---- decoder -------------------------------------------------------------------------------------------
    def decode_log(self, z: Tensor) -> Tensor:
        """latent (N, D) -> log of the decoded shape, (N, E) photon fractions ("fold") or (N, B) counts ("none")."""
        return torch.log_softmax(self.decoder(z), dim=1)

    def decode_photons(self, z: Tensor) -> Tensor:
        """latent (N, D) -> photon spectrum shape (N, E): photon fractions per photon-grid bin, rows sum to 1."""
        if not self.config.folds:
            raise ValueError("this model (instrument='none') decodes counts, not photons")
        return self.decode_log(z).exp()

    def counts_shape(self, z: Tensor, instrument: Instrument | None = None, index: Tensor | None = None) -> Tensor:
        """latent (N, D) -> source counts shape (N, B) through each spectrum's response (the reference response
        when ``instrument`` is None), rows sum to 1."""
        if not self.config.folds:
            return self.decode_log(z).exp()
        photons = self.decode_log(z).exp()
        folded = photons @ self.reference_matrix if instrument is None else instrument.fold(photons, index)
        return folded / folded.sum(dim=1, keepdim=True).clamp(min=1e-30)

    def decode(self, z: Tensor) -> Tensor:
        """latent (N, D) -> source counts shape (N, B) through the reference response, rows sum to 1."""
        return self.counts_shape(z)

    def forward(self, counts: Tensor, background: Tensor, weights: Tensor | None = None,
                instrument: Instrument | None = None, index: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """-> (counts shape (N, B), latent (N, D))."""
        z = self.encode(counts, background, weights, instrument, index)
        return self.counts_shape(z, instrument, index), z

    # ---- loss ----------------------------------------------------------------------------------------------
    def spectrum_loss(self, counts: Tensor, background: Tensor, weights: Tensor | None = None,
                      target: tuple[Tensor, Tensor] | None = None, instrument: Instrument | None = None,
                      index: Tensor | None = None) -> Tensor:
        """Per-spectrum loss (N,); see the module docstring.

        ``target``: (counts, background) the prediction is scored against, when they are not the input's own
        (count splitting in training: the input is one binomial part of the counts, the target the other).
        """
        w = torch.ones_like(counts) if weights is None else weights  # (N, B)
        z = self.encode(counts, background, w, instrument, index)
        t_counts, t_background = (counts, background) if target is None else target
        return self.latent_loss(z, t_counts, t_background, w, instrument, index)

    def latent_loss(self, z: Tensor, counts: Tensor, background: Tensor, weights: Tensor,
                    instrument: Instrument | None = None, index: Tensor | None = None) -> Tensor:
        """Per-spectrum loss (N,) of latents z decoded and scored against counts over background."""
        if not self.config.folds:
            return multinomial_kl(self.decode_log(z), counts, background, weights)
        return poisson_ml_loss(self.counts_shape(z, instrument, index), counts, background, weights)

    def reduce_loss(self, per: Tensor, counts: Tensor, weights: Tensor | None) -> Tensor:
        """The batch's loss from per-spectrum losses, by ``loss_norm``."""
        if self.config.loss_norm == "spectrum":
            return per.mean()
        n = (counts * (torch.ones_like(counts) if weights is None else weights)).sum(dim=1)  # (N,)
        return (per * n).sum() / n.sum().clamp(min=1.0)

    def loss(self, counts: Tensor, background: Tensor, weights: Tensor | None = None,
             target: tuple[Tensor, Tensor] | None = None, instrument: Instrument | None = None,
             index: Tensor | None = None) -> Tensor:
        """Scalar training loss over a batch (counts, background, weights: (N, B))."""
        per = self.spectrum_loss(counts, background, weights, target, instrument, index)  # (N,)
        return self.reduce_loss(per, counts if target is None else target[0], weights)
