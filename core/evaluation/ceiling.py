"""Posterior means of a source's parameters from its counts, by importance sampling over a prior sample (issue 8).

Why: an R² of log N_H from a learned feature (the latent) means little without the most that any function of the
counts can reach. Under squared error that is the posterior mean E[theta | counts] under the true prior; its R² is
the ceiling, up to the finite prior sample. For simulated data the prior is known: a sample of parameter sets
theta_j (``benchmarks/nh_ceiling.py`` takes the demo's training split and re-draws it as ``core.simulate`` does),
each with its noiseless source shape p_j folded through the spectrum's own response (sum of p_j over the bins
given: the share of the source counts that lands in them). The posterior weight of draw j is its evidence

    L_j = ∫ prod_i Poisson(c_i | S p_ji + b_i) pi(S) dS,

the source counts S marginalised over their prior pi (S is a nuisance, like a flux; the shape carries N_H), b the
spectrum's expected background. The integral is taken in u = ln S by Gauss-Hermite quadrature centred on the
maximum-likelihood S_j (Newton on the concave likelihood that ``core.model.likelihood.ml_source_counts`` solves for
one shape per spectrum; here for every draw at once, on the bins with counts only) with the width its curvature
gives: exact for a likelihood Gaussian in u, and a few counts make it nearly so. The profile likelihood (S at its
maximum, no prior) is the middle node.

Per spectrum the cost is O(J x bins with counts x (Newton steps + nodes)); ``evidence`` takes one spectrum.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import r2_score
from torch import Tensor

GH_NODES = 7  # odd: the middle node is the maximum-likelihood S
NEWTON_STEPS = 40  # at most, after screening; they stop at NEWTON_TOLERANCE (a few steps for nearly every draw)
NEWTON_TOLERANCE = 1e-3  # score: dlogL/dS times the sd of S
SCREEN_STEPS = 4  # Newton steps for every draw before screening
SCREEN_MARGIN = 30.0  # log-likelihood units: draws this far below the best are left out (weight < 1e-13 each)
MIN_SOURCE_COUNTS = 1e-3  # S floor (the likelihood may peak at S = 0 when the background explains the counts)
TINY = 1e-30  # floor of expected counts in a bin (a bin with counts that no source or background reaches)
MAX_WIDTH_U = 2.0  # cap on the quadrature's width in ln S where the likelihood has no peak


@dataclass
class Evidence:
    """One spectrum against J prior draws: the log-likelihood at the quadrature nodes in u = ln S of the K draws
    kept by the screening (the others weigh less than exp(-margin) each)."""
    n_draws: int  # J
    index: Tensor  # (K,) the draws kept
    u: Tensor  # (K, n) ln S at the nodes
    log_like: Tensor  # (K, n) log-likelihood, up to a constant of the spectrum (the same for every draw)
    log_weight: Tensor  # (K, n) log quadrature weights in u
    score: Tensor  # (K,) d logL / dS at the fitted S times its standard deviation: Newton's residual, ~0

    def _full(self, kept: Tensor) -> Tensor:
        out = torch.full((self.n_draws,), -torch.inf, dtype=kept.dtype)
        out[self.index] = kept
        return out

    def profile(self) -> Tensor:
        """(J,) log-likelihood at the maximum-likelihood S (no prior on S); -inf for draws screened out."""
        return self._full(self.log_like[:, self.log_like.shape[1] // 2])

    def marginal(self, log_prior_u: Tensor | None = None) -> Tensor:
        """(J,) log of the likelihood integrated over u = ln S against the prior density of u at the nodes (K, n)
        (flat if None); -inf for draws screened out."""
        terms = self.log_like + self.log_weight
        if log_prior_u is not None:
            terms = terms + log_prior_u
        return self._full(torch.logsumexp(terms, dim=1))


def _log_like(s: Tensor, c: Tensor, b: Tensor, p: Tensor, p_zero: Tensor) -> Tensor:
    """log-likelihood (J, n) of counts c (nz,) > 0 given mu = s p + b on those bins (p (J, nz), s (J, n)), minus
    s times the source share in the bins without counts (p_zero (J,)); written as sums of per-bin deviance terms
    c ln(mu/c) - mu + c (each small near a good fit) so that float32 keeps the differences between draws."""
    inv_c = 1.0 / c
    out = torch.empty_like(s)
    for k in range(s.shape[1]):  # one node at a time: (J, nz) temporaries
        mu = (s[:, k, None] * p + b).clamp(min=TINY)
        out[:, k] = (c * torch.log(mu * inv_c) - mu + c).sum(1) - s[:, k] * p_zero
    return out


def _newton(s: Tensor, c: Tensor, b: Tensor, p: Tensor, p_sum: Tensor, n_steps: int,
            tol: float | None = None) -> Tensor:
    """Up to n_steps Newton steps towards the maximum-likelihood S (J,) of every shape p (J, nz) against counts
    c (nz,) > 0 and background b (nz,); p_sum (J,): each shape's sum over all the bins given (counts or not). With
    ``tol``, stops once every draw's score (dlogL/dS times the sd of S) is below it or its S sits at the floor.

    g(S) = sum c p / (S p + b) - p_sum is convex and decreasing, so a step from the right of the root lands left of
    it (clipped to S / 8 above 0) and from the left converges without overshoot."""
    for _ in range(n_steps):
        g, h = _slope(s, c, b, p, p_sum)
        if tol is not None and bool((_score(g, h).abs().lt(tol) | ((s <= MIN_SOURCE_COUNTS) & (g < 0))).all()):
            break
        step = s - g / torch.where(h < 0, h, torch.full_like(h, -1e-30))
        s = torch.clamp(torch.where(step > 0, step, s / 8), min=MIN_SOURCE_COUNTS)
    return s


def _score(g: Tensor, h: Tensor) -> Tensor:
    return torch.where(h < 0, g / (-h).clamp(min=1e-30).sqrt(), torch.zeros_like(g))


def _slope(s: Tensor, c: Tensor, b: Tensor, p: Tensor, p_sum: Tensor) -> tuple[Tensor, Tensor]:
    """dlogL/dS and d²logL/dS² (J,) at S (J,)."""
    t = p / (s[:, None] * p + b).clamp(min=TINY)  # (J, nz)
    return t @ c - p_sum, -((t * t) @ c)


def evidence(counts: Tensor, background: Tensor, shapes: Tensor, n_nodes: int = GH_NODES,
             n_steps: int = NEWTON_STEPS, margin: float = SCREEN_MARGIN,
             groups: Sequence[Tensor] | None = None) -> Evidence:
    """One spectrum (counts, background (B,)) against shapes (J, B): each a draw's expected source counts per unit
    S on those bins (rows sum to at most 1; less when bins are left out). Bins must be the good ones only.

    Screening: after ``SCREEN_STEPS`` Newton steps every draw has a lower bound (its log-likelihood there) and an
    upper bound (concavity: L(S*) <= L(S) + max(g, 0) (S_max - S), with S* <= S_max = N / p_sum) on its profile
    log-likelihood. Draws whose upper bound is ``margin`` below the best lower bound carry weight below
    exp(-margin) each and are left out (``Evidence.index`` lists the others); the rest get every step and node.
    ``groups`` (bool masks (J,)): prior samples scored apart (subsets of the draws); a draw is kept when it is within
    ``margin`` of the best of any group holding it, so that every group's posterior stays exact."""
    dtype = shapes.dtype
    c, b = counts.to(dtype), background.to(dtype)
    nz = c > 0
    p_sum = shapes.sum(1)
    p, cn, bn = shapes[:, nz], c[nz], b[nz]
    p_zero = p_sum - p.sum(1)
    x, w = np.polynomial.hermite.hermgauss(n_nodes)
    x_t = torch.as_tensor(x, dtype=dtype)
    index = torch.arange(len(shapes))
    if cn.numel() == 0:  # no counts: the likelihood exp(-S p_sum) peaks at S = 0, the same for every draw
        s = torch.full_like(p_sum, MIN_SOURCE_COUNTS)
        g, h = -p_sum, torch.zeros_like(s)
    else:
        n = cn.sum()
        s = torch.full_like(p_sum, float(max(n - bn.sum(), n.sqrt(), 1.0)))
        s = _newton(s, cn, bn, p, p_sum, min(SCREEN_STEPS, n_steps))
        low = _log_like(s[:, None], cn, bn, p, p_zero)[:, 0]
        g, _ = _slope(s, cn, bn, p, p_sum)
        high = low + g.clamp(min=0) * (n / p_sum - s).clamp(min=0)
        keep = torch.zeros(len(shapes), dtype=torch.bool)
        for g_mask in groups if groups is not None else [torch.ones_like(keep)]:
            keep |= g_mask & (high >= low[g_mask].max() - margin)
        index, s, p, p_sum, p_zero = index[keep], s[keep], p[keep], p_sum[keep], p_zero[keep]
        s = _newton(s, cn, bn, p, p_sum, n_steps, NEWTON_TOLERANCE)
        g, h = _slope(s, cn, bn, p, p_sum)
    width = torch.where(h < 0, 1.0 / (s * (-h).clamp(min=1e-30).sqrt()), torch.full_like(s, MAX_WIDTH_U))
    width = width.clamp(max=MAX_WIDTH_U)
    u = s.log()[:, None] + np.sqrt(2.0) * width[:, None] * x_t  # (K, n)
    log_w = torch.as_tensor(np.log(w) + x ** 2, dtype=dtype) + torch.log(np.sqrt(2.0) * width)[:, None]
    if cn.numel() == 0:
        log_like = -u.exp() * p_sum[:, None]
    else:
        log_like = _log_like(u.exp(), cn, bn, p, p_zero)
    return Evidence(len(shapes), index, u, log_like, log_w, _score(g, h))


@dataclass
class Posterior:
    """Posterior summaries of one spectrum under weights over the prior draws."""
    mean: dict[str, float]  # per target: E[y | counts], over the draws where y is defined
    var: dict[str, float]  # per target: the posterior variance there
    defined: dict[str, float]  # per target: posterior probability that y is defined (the model has it)
    ess: float  # effective number of draws, 1 / sum w²


def posterior(log_evidence: Tensor | np.ndarray, targets: dict[str, np.ndarray]) -> Posterior:
    """Weights ∝ exp(log_evidence) (J,) over equally likely prior draws; targets (J,) with NaN where undefined."""
    le = np.asarray(log_evidence, dtype=np.float64)
    w = np.exp(le - le.max())
    w /= w.sum()
    mean, var, defined = {}, {}, {}
    for name, y in targets.items():
        ok = np.isfinite(y)
        wk = w[ok]
        total = wk.sum()
        defined[name] = float(total)
        if total <= 0:
            mean[name], var[name] = np.nan, np.nan
            continue
        m = float(wk @ y[ok] / total)
        mean[name], var[name] = m, float(wk @ (y[ok] - m) ** 2 / total)
    return Posterior(mean, var, defined, float(1.0 / (w ** 2).sum()))


def r2_interval(y: np.ndarray, pred: np.ndarray, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """R² and its 95% bootstrap interval (percentile; spectra resampled with replacement)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), (n_boot, len(y)))
    yb, pb = y[idx], pred[idx]
    boot = 1.0 - ((yb - pb) ** 2).sum(1) / ((yb - yb.mean(1, keepdims=True)) ** 2).sum(1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return float(r2_score(y, pred)), float(lo), float(hi)
