"""Response augmentation for training (issue 8, fourth pass): each batch sees its responses perturbed.

The demo is folded through only four real ACIS responses, and the encoder is told its response (the shape of the
effective area); a real file's response (M33's, NGC 4258's) lies outside those four. Here a training spectrum's
response R[e, b] becomes R[e, b] * g_b, with g a smooth gain per channel-grid bin, and the change is applied
consistently to everything that involves the response:

- the counts: c'_b ~ Binomial(c_b, g_b / max g), which is exactly Poisson with mean mu_b g_b / max g, so the
  thinned counts are a spectrum really observed through the perturbed response (the overall scale 1 / max g is
  brightness, which the loss fits, never decodes); the background's expectation is scaled by the same factor;
- the folding: the decoded photons folded through R, times g (``PerturbedInstrument.fold``);
- what the encoder is told: the effective area per bin times g (``PerturbedInstrument.area``).

A perturbation in channel space stands for one of the ARF for the smooth factors drawn here (they vary over
keV, the RMF's width is ~0.1 keV). log g is the sum of, each drawn per spectrum:
- low-energy contamination: -tau (E / 0.55 keV)^-2.5, tau uniform in [-0.7, 1.5] x strength (negative: less
  contamination than the response had; the four demo responses span -0.4 to -3.2 in log area at 0.55 keV
  relative to their mean, NGC 4258's file has +0.1);
- a tilt: t log(E / 2 keV), t uniform in [-0.3, 0.3] x strength;
- one bump: a Gaussian in log E (centre uniform in log over the grid, width 0.1-0.3 dex), amplitude uniform in
  [-0.3, 0.3] x strength (M33's ARF sits 0.2 below the demo's at 2 keV).
Each spectrum is perturbed with probability ``prob``; the others keep their response. Gain shifts (counts moved
between channels) are not drawn: they cannot be applied to counts exactly.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from core.model.instrument import Instrument, centred_log_area, effective_area

E_CONTAMINATION = 0.55  # keV, where the contamination depth tau is quoted
E_PIVOT = 2.0  # keV, the tilt's pivot


def draw_log_gain(energy: np.ndarray, n: int, strength: float, prob: float, rng: np.random.Generator) -> np.ndarray:
    """(n, B) log gains on channel-grid bins of centre ``energy`` (B,) keV; zero rows for unperturbed spectra."""
    e = np.asarray(energy, dtype=np.float64)[None, :]  # (1, B)
    tau = rng.uniform(-0.7, 1.5, size=(n, 1)) * strength
    tilt = rng.uniform(-0.3, 0.3, size=(n, 1)) * strength
    amp = rng.uniform(-0.3, 0.3, size=(n, 1)) * strength
    centre = np.exp(rng.uniform(np.log(e.min()), np.log(e.max()), size=(n, 1)))
    width = rng.uniform(0.1, 0.3, size=(n, 1)) * np.log(10.0)  # dex -> natural log
    log_g = (-tau * (e / E_CONTAMINATION) ** -2.5 + tilt * np.log(e / E_PIVOT)
             + amp * np.exp(-0.5 * (np.log(e / centre) / width) ** 2))
    on = rng.random(size=(n, 1)) < prob
    return np.where(on, log_g, 0.0)


class PerturbedInstrument(nn.Module):
    """An ``Instrument`` whose responses are multiplied, per batch row, by gains g (N, B) on the channel grid.

    Rows are the batch's: ``fold`` and ``area`` must be called with the batch's own index (N,), in its order."""

    def __init__(self, base: Instrument, gain: Tensor) -> None:
        super().__init__()
        self.base = base
        self.gain = gain  # (N, B), > 0
        self.eff = effective_area(base.matrix, base.photon_edges, base.channel_edges)  # (R, B)

    @property
    def n_responses(self) -> int:
        return self.base.n_responses

    def _check(self, index: Tensor) -> None:
        if len(index) != len(self.gain):
            raise ValueError(f"{len(index)} rows, but the perturbation was drawn for {len(self.gain)}")

    def area(self, index: Tensor) -> Tensor:
        """(N, B) centred log effective area of each row's perturbed response (``instrument.area_feature``)."""
        self._check(index)
        return centred_log_area(self.eff[index] * self.gain)

    def fold(self, photons: Tensor, index: Tensor) -> Tensor:
        self._check(index)
        return self.base.fold(photons, index) * self.gain


def perturb_batch(counts: Tensor, background: Tensor, index: Tensor, instrument: Instrument,
                  energy: np.ndarray, strength: float, prob: float,
                  rng: np.random.Generator) -> tuple[Tensor, Tensor, PerturbedInstrument]:
    """(counts', background', the perturbed instrument) for one training batch; see the module docstring."""
    log_g = draw_log_gain(energy, len(counts), strength, prob, rng)  # (N, B)
    keep = np.exp(log_g - log_g.max(axis=1, keepdims=True))  # (N, B) in (0, 1]: the binomial thinning
    c = counts.detach().cpu().numpy().astype(np.int64)
    thinned = torch.from_numpy(rng.binomial(c, keep).astype(np.float32)).to(counts.device)
    k = torch.from_numpy(keep.astype(np.float32)).to(counts.device)
    return thinned, background * k, PerturbedInstrument(instrument, k)
