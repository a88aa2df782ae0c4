"""The count likelihood shared by the training loss and the reconstruction measures (see the autoencoder's
docstring for its derivation): expected counts mu_i = S s_i + b_i with the source counts S = max(N - B, tiny)."""
from __future__ import annotations

import torch
from torch import Tensor

MIN_SOURCE_COUNTS = 1e-3  # S floor when the background explains all counts


def multinomial_kl(log_shape: Tensor, counts: Tensor, background: Tensor, weights: Tensor) -> Tensor:
    """KL(c/N || p) per spectrum with p_i ∝ w_i (S s_i + b_i), S = max(N - B, tiny); all inputs (N, B) -> (N,).

    Spectra without counts in good bins contribute 0.
    """
    w = weights
    c = counts * w
    n = c.sum(dim=1, keepdim=True)  # (N, 1)
    b_good = (background * w).sum(dim=1, keepdim=True)  # (N, 1)
    s_good = (n - b_good).clamp(min=MIN_SOURCE_COUNTS)  # (N, 1)
    log_sw = torch.logsumexp(log_shape + torch.log(w), dim=1, keepdim=True)  # (N, 1) log of shape mass in good bins
    log_mu = torch.logaddexp(torch.log(s_good) + log_shape - log_sw, torch.log(background * w))  # (N, B)
    log_mu = torch.where(w > 0, log_mu, torch.zeros_like(log_mu))
    log_total = torch.log(s_good + b_good)  # (N, 1): sum of mu over good bins
    log_p = log_mu - log_total  # (N, B)
    obs = c / n.clamp(min=1.0)  # (N, B)
    kl = torch.xlogy(obs, obs) - obs * log_p  # (N, B)
    return torch.where(w > 0, kl, torch.zeros_like(kl)).sum(dim=1)  # (N,)
