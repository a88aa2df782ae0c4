"""The consistency loss: one source seen through two responses should get one latent (as in spender, Melchior et
al. 2023, whose similarity loss does the same for redshift augmentations of optical spectra).

For each spectrum of a batch, its decoded photon spectrum (detached: a fixed stand-in for the source) is folded
through another response of the dataset, drawn at random, scaled to the same source counts and Poisson-sampled
over the spectrum's own background. The encoder sees that re-observation through its response, and the loss is
the squared distance of the two latents divided by the batch's latent variance (so shrinking the latent space
cannot lower it). With one response in the data there is nothing to be consistent across, and the loss is zero.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from core.model.instrument import Instrument
from core.model.likelihood import ml_source_counts


def reobserve(model, z: Tensor, counts: Tensor, background: Tensor, weights: Tensor, instrument: Instrument,
              index: Tensor, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    """(counts, other response index): the decoded source re-simulated through another response."""
    with torch.no_grad():
        photons = model.decode_photons(z)
        shift = torch.from_numpy(rng.integers(1, instrument.n_responses, len(z))).to(index.device)
        other = (index + shift) % instrument.n_responses
        folded = instrument.fold(photons, other) * weights
        folded = folded / folded.sum(dim=1, keepdim=True).clamp(min=1e-30)
        shape = instrument.fold(photons, index)
        s = ml_source_counts(shape, counts, background, weights).to(z.dtype)
        mu = (s * folded + background * weights).double().cpu().numpy()
        sampled = torch.from_numpy(rng.poisson(mu).astype(np.float32)).to(counts.device)
    return sampled, other


def consistency_loss(model, z: Tensor, counts: Tensor, background: Tensor, weights: Tensor, instrument: Instrument,
                     index: Tensor, rng: np.random.Generator) -> Tensor:
    """Mean squared latent distance between each spectrum and its re-observation, over the latent variance."""
    if instrument.n_responses < 2:
        return z.new_zeros(())
    again, other = reobserve(model, z, counts, background, weights, instrument, index, rng)
    z2 = model.encode(again, background, weights, instrument, other)
    spread = z.var(dim=0).sum().clamp(min=1e-6)
    return ((z - z2) ** 2).sum(dim=1).mean() / spread
