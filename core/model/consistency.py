"""The consistency loss: one source seen through two responses should get one latent (as in spender, Melchior et
al. 2023, whose similarity loss does the same for redshift augmentations of optical spectra).

For each spectrum of a batch, its decoded photon spectrum (detached: a fixed stand-in for the source) is observed
again as another spectrum of the batch was observed: folded through that spectrum's response (another one where
the batch has one), scaled to the same source counts and Poisson-sampled over that spectrum's background and bad
bins. The background matters as much as the response: on the demo each response comes with its own background
level, and the background fraction alone tells the four responses apart (balanced accuracy 0.99), so a latent that
keeps the background level keeps the instrument. The encoder sees the re-observation through its response, and
the loss is the squared distance of the two latents divided by the batch's latent variance (so shrinking the
latent space cannot lower it). With one response in the data the loss is zero.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from core.model.instrument import Instrument
from core.model.likelihood import ml_source_counts


def partners(index: Tensor, rng: np.random.Generator, tries: int = 4) -> Tensor:
    """For each row, another row of the batch, with another response where a few random draws find one."""
    n = len(index)
    j = torch.from_numpy(rng.integers(0, n, n)).to(index.device)
    for _ in range(tries):
        same = index[j] == index
        if not same.any():
            break
        j = torch.where(same, torch.from_numpy(rng.integers(0, n, n)).to(index.device), j)
    return j


def reobserve(model, z: Tensor, counts: Tensor, background: Tensor, weights: Tensor, instrument: Instrument,
              index: Tensor, rng: np.random.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(counts, background, weights, response index) of each decoded source observed as a partner row was."""
    with torch.no_grad():
        photons = model.decode_photons(z)
        j = partners(index, rng)
        other, b2, w2 = index[j], background[j], weights[j]
        folded = instrument.fold(photons, other) * w2
        folded = folded / folded.sum(dim=1, keepdim=True).clamp(min=1e-30)
        s = ml_source_counts(instrument.fold(photons, index), counts, background, weights).to(z.dtype)
        mu = (s * folded + b2 * w2).double().cpu().numpy()
        sampled = torch.from_numpy(rng.poisson(mu).astype(np.float32)).to(counts.device)
    return sampled, b2, w2, other


def consistency_loss(model, z: Tensor, counts: Tensor, background: Tensor, weights: Tensor, instrument: Instrument,
                     index: Tensor, rng: np.random.Generator) -> Tensor:
    """Mean squared latent distance between each spectrum and its re-observation, over the latent variance."""
    if instrument.n_responses < 2:
        return z.new_zeros(())
    again, b2, w2, other = reobserve(model, z, counts, background, weights, instrument, index, rng)
    z2 = model.encode(again, b2, w2, instrument, other)
    spread = z.var(dim=0).sum().clamp(min=1e-6)
    return ((z - z2) ** 2).sum(dim=1).mean() / spread
