"""Latent refinement: the latent that maximises a spectrum's own count likelihood, started from the encoder's.

The encoder is amortised inference: one pass gives a good latent for spectra like the training ones. For a
spectrum unlike them (real, bright spectra scored by a model trained on the simulated demo) its latent can be far
from the best the decoder offers. ``refine_latents`` closes that gap: a few hundred Adam steps on the D latent
values, minimising the same loss as training (the Poisson deviance through the spectrum's own response, source
counts fitted by maximum likelihood), decoder weights fixed. Off by default (``encode --refine-steps N``; the
number is recorded in encoded.json): refined latents can leave the region of latent space the training spectra
fill, so they are for scoring how well the decoder can fit a spectrum, not the default for maps.
"""
from __future__ import annotations

import numpy as np
import torch

from core.model.instrument import Instrument


def refine_latents(model, latents: np.ndarray, counts: np.ndarray, background: np.ndarray,
                   weights: np.ndarray | None, instrument: Instrument | None, index: np.ndarray | None,
                   steps: int = 300, lr: float = 0.05, batch_size: int = 2048) -> np.ndarray:
    """Refined latents (N, D) float32; ``steps`` = 0 returns the latents unchanged."""
    if steps <= 0:
        return np.asarray(latents, dtype=np.float32)
    device = next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, len(latents), batch_size):
        sl = slice(i, i + batch_size)
        t = lambda a: torch.as_tensor(np.array(a[sl], dtype=np.float32), device=device)  # noqa: E731
        c, b = t(counts), t(background)
        w = torch.ones_like(c) if weights is None else t(weights)
        idx = None if index is None else torch.as_tensor(np.asarray(index[sl], dtype=np.int64), device=device)
        z = t(latents).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        for _ in range(steps):
            with torch.enable_grad():
                loss = model.latent_loss(z, c, b, w, instrument, idx).sum()
                (grad,) = torch.autograd.grad(loss, [z])  # the model's weights get no gradient
            z.grad = grad
            opt.step()
        out.append(z.detach().cpu().numpy())
    return np.concatenate(out).astype(np.float32)
