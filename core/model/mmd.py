"""A distribution-matching penalty on the latent: the maximum mean discrepancy (MMD, Gretton et al. 2012) between
the latents of each response and those of the other responses in the batch, as the "fair" variational
autoencoder of Louizos et al. (2016) removes a nuisance variable.

Unlike the response adversary (``core.model.adversary``) it needs no classifier to catch up: with a
characteristic kernel the MMD is zero only when the distributions are equal, so the encoder cannot lower it by
moving the response to where a stale classifier does not look. The latents are scaled by the batch's (detached)
standard deviation per axis, so shrinking the latent space cannot lower it; the kernel is a sum of Gaussians over
a few widths around the typical squared distance of standardised points (2 D); the within-group terms leave out
the diagonal (the unbiased estimate). With one response in the batch the penalty is zero.
"""
from __future__ import annotations

import torch
from torch import Tensor

WIDTHS = (0.25, 1.0, 4.0)  # kernel widths, in units of the mean squared distance of standardised points (2 D)


def _kernel(d2: Tensor, scale: float) -> Tensor:
    return sum(torch.exp(-d2 / (w * scale)) for w in WIDTHS)


def response_mmd(z: Tensor, index: Tensor) -> Tensor:
    """Mean over the batch's responses of MMD^2(latents of that response, latents of the others); z (N, D)."""
    zs = z / z.detach().std(dim=0).clamp(min=1e-6)  # (N, D)
    d2 = torch.cdist(zs, zs).pow(2)  # (N, N)
    k = _kernel(d2, 2.0 * z.shape[1])
    terms = []
    for r in torch.unique(index):
        a, b = index == r, index != r
        na, nb = int(a.sum()), int(b.sum())
        if na < 2 or nb < 2:
            continue
        kaa, kbb, kab = k[a][:, a], k[b][:, b], k[a][:, b]
        within_a = (kaa.sum() - kaa.diagonal().sum()) / (na * (na - 1))
        within_b = (kbb.sum() - kbb.diagonal().sum()) / (nb * (nb - 1))
        terms.append(within_a + within_b - 2 * kab.mean())
    return torch.stack(terms).mean() if terms else z.new_zeros(())
