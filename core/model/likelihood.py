"""The count likelihood shared by the training loss and the reconstruction measures: expected counts
mu_i = S s_i + b_i. ``poisson_ml_loss`` (the instrument-aware model, ``instrument="fold"``) fits the source counts S
by maximum likelihood; ``multinomial_kl`` (``instrument="none"``, models trained before responses were stored)
takes S = max(N - B, tiny); see the autoencoder's docstring."""
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


@torch.no_grad()
def ml_source_counts(shape: Tensor, counts: Tensor, background: Tensor, weights: Tensor, n_iter: int = 40) -> Tensor:
    """Maximum-likelihood source counts S >= 0 per spectrum, (N, 1) float64, detached.

    Poisson log-likelihood of the counts c_i with mu_i = S p_i + b_i over good bins, p the shape normalised to
    sum 1 over them. L(S) is concave, its derivative g(S) = sum c_i p_i / mu_i - 1 decreasing, and the optimum lies
    in [0, N] (at it, S = sum c_i S p_i / mu_i <= N). Safeguarded Newton: a Newton step inside the bracket, else
    bisection, so every spectrum converges (to machine precision within ``n_iter`` steps at these sizes). S = 0 when
    g(0) <= 0: the background explains the counts at least as well as any source. No gradient flows through S:
    at the optimum dL/dS = 0, so the gradient w.r.t. p at fixed S is the total gradient (envelope theorem).
    """
    w = weights.double()
    c, b = counts.double() * w, background.double() * w
    p = shape.double() * w
    p = p / p.sum(dim=1, keepdim=True).clamp(min=1e-300)
    n = c.sum(dim=1, keepdim=True)
    lo, hi = torch.zeros_like(n), n.clone()
    s = (n - b.sum(dim=1, keepdim=True)).clamp(min=0.0)
    s = torch.where(s > 0, s, 0.5 * n)
    for _ in range(n_iter):
        mu = (s * p + b).clamp(min=1e-300)
        g = (c * p / mu).sum(dim=1, keepdim=True) - 1.0
        h = -(c * p * p / (mu * mu)).sum(dim=1, keepdim=True)
        lo, hi = torch.where(g > 0, s, lo), torch.where(g > 0, hi, s)
        step = s - g / torch.where(h < 0, h, torch.full_like(h, -1.0))
        s = torch.where((step > lo) & (step < hi) & (h < 0), step, 0.5 * (lo + hi))
    ratio = torch.where(c * p > 0, c * p / b.clamp(min=1e-300), torch.zeros_like(c))
    at_zero = torch.where(((c * p > 0) & (b <= 0)).any(dim=1, keepdim=True), torch.full_like(n, float("inf")),
                          ratio.sum(dim=1, keepdim=True)) - 1.0  # g(0)
    return torch.where((at_zero <= 0) | (n <= 0), torch.zeros_like(s), s)


def poisson_ml_loss(shape: Tensor, counts: Tensor, background: Tensor, weights: Tensor) -> Tensor:
    """Per spectrum (N,): the Poisson deviance / (2 N) of the counts given mu_i = S p_i + b_i over good bins, with
    p the (folded) source shape normalised over good bins and S its maximum-likelihood source counts
    (``ml_source_counts``). Zero for a perfect fit, >= 0; a spectrum without counts contributes a constant."""
    w = weights
    c = counts * w
    p = shape * w
    p = p / p.sum(dim=1, keepdim=True).clamp(min=1e-30)
    s = ml_source_counts(shape, counts, background, weights).to(shape.dtype)
    mu = (s * p + background * w).clamp(min=1e-30)
    dev = torch.xlogy(c, c) - c * torch.log(mu) - (c - mu)
    n = c.sum(dim=1)
    return torch.where(w > 0, dev, torch.zeros_like(dev)).sum(dim=1) / n.clamp(min=1.0)
