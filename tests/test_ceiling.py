"""The posterior-mean estimator behind benchmarks/nh_ceiling.py (core.evaluation.ceiling) on cases with a known
answer, and the demo's prior of the source counts (core.simulate.prior.SourceCountsPrior)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.evaluation.ceiling import evidence, posterior, r2_interval
from core.model.likelihood import ml_source_counts
from core.simulate.demo import source_counts
from core.simulate.prior import SourceCountsPrior

E = np.linspace(0.5, 7.0, 113)
MID = 0.5 * (E[1:] + E[:-1])


def shapes_of(log_nh: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """(J, 112) toy absorbed power laws (cross-section ~ E^-2.5), each normalised to sum 1."""
    f = MID[None] ** -gamma[:, None] * np.exp(-(10 ** log_nh)[:, None] * 2.0 * MID[None] ** -2.5)
    return f / f.sum(1, keepdims=True)


@pytest.fixture(scope="module")
def prior():
    rng = np.random.default_rng(0)
    log_nh, gamma = rng.uniform(-1.5, 0.5, 400), rng.uniform(1.2, 2.6, 400)
    return log_nh, gamma, torch.as_tensor(shapes_of(log_nh, gamma))


def test_noiseless_counts_recover_their_draw(prior):
    log_nh, gamma, shapes = prior
    bkg = np.full(112, 0.05)
    for k in (3, 77, 250):
        counts = 1e5 * shapes[k].numpy() + bkg * 1e3
        ev = evidence(torch.as_tensor(counts), torch.as_tensor(bkg * 1e3), shapes)
        post = posterior(ev.marginal(), {"log_nh": log_nh, "gamma": gamma})
        assert post.mean["log_nh"] == pytest.approx(log_nh[k], abs=1e-6)
        assert post.mean["gamma"] == pytest.approx(gamma[k], abs=1e-6)
        assert post.ess == pytest.approx(1.0, abs=1e-3)
        assert float(ev.u[ev.index == k, 3].exp()) == pytest.approx(1e5, rel=1e-4)  # the middle node: S fitted


@pytest.mark.parametrize("counts", [np.zeros(112), np.random.default_rng(1).poisson(3.0, 112).astype(float)])
def test_flat_likelihood_returns_the_prior_mean(prior, counts):
    log_nh, gamma, _ = prior
    same = torch.as_tensor(np.tile(shapes_of(np.array([0.0]), np.array([2.0])), (len(log_nh), 1)))
    bkg = torch.full((112,), 0.1, dtype=torch.float64)
    ev = evidence(torch.as_tensor(counts), bkg, same)
    for le in (ev.profile(), ev.marginal(), ev.marginal(torch.zeros_like(ev.u) - 0.5 * ev.u ** 2)):
        post = posterior(le, {"log_nh": log_nh, "gamma": np.where(gamma > 2, gamma, np.nan)})
        assert post.mean["log_nh"] == pytest.approx(log_nh.mean(), abs=1e-9)
        assert post.mean["gamma"] == pytest.approx(gamma[gamma > 2].mean(), abs=1e-9)
        assert post.defined["gamma"] == pytest.approx((gamma > 2).mean(), abs=1e-9)
        assert post.ess == pytest.approx(len(log_nh), rel=1e-9)


def test_fitted_source_counts_match_the_models_ml_normalisation(prior):
    _, _, shapes = prior
    rng = np.random.default_rng(2)
    bkg = np.full(112, 0.3)
    counts = rng.poisson(40 * shapes[5].numpy() + bkg).astype(float)
    ev = evidence(torch.as_tensor(counts), torch.as_tensor(bkg), shapes, margin=np.inf)
    n = len(shapes)
    ref = ml_source_counts(shapes, torch.as_tensor(counts).expand(n, -1), torch.as_tensor(bkg).expand(n, -1),
                           torch.ones(n, 112, dtype=torch.float64))[:, 0]
    p, s_ref = shapes.numpy(), ref.numpy()[:, None]
    sd = (counts * (p / (s_ref * p + bkg)) ** 2).sum(1) ** -0.5  # of S, from the curvature at the optimum
    assert np.all(np.abs(ev.u[:, 3].exp().numpy() - ref.numpy()) < 1e-3 * sd)  # Newton stops at a score of 1e-3
    assert float(ev.score.abs().max()) < 1e-3


def log_like_numeric(counts: np.ndarray, bkg: np.ndarray, shape: np.ndarray, s: np.ndarray) -> np.ndarray:
    mu = s[:, None] * shape[None] + bkg[None]
    return (counts * np.log(mu) - mu).sum(1)


def test_marginal_matches_a_dense_integral(prior):
    """Few counts (a likelihood far from Gaussian in ln S) and a prior on ln S: Gauss-Hermite against trapezoids."""
    _, _, shapes = prior
    counts = np.random.default_rng(3).poisson(12 * shapes[9].numpy() + 0.02).astype(float)
    bkg = np.full(112, 0.02)
    ev = evidence(torch.as_tensor(counts), torch.as_tensor(bkg), shapes[:6], margin=np.inf, n_nodes=15)

    def log_prior(u):
        return -0.5 * ((u - np.log(15.0)) / 0.7) ** 2

    got = ev.marginal(torch.as_tensor(log_prior(ev.u.numpy()))).numpy()
    u = np.linspace(-3, 6, 20001)
    want = np.array([np.log(np.trapezoid(np.exp(log_like_numeric(counts, bkg, shapes[j].numpy(), np.exp(u))
                                                  + log_prior(u)), u)) for j in range(6)])
    assert np.allclose(got - got[0], want - want[0], atol=2e-3)


def test_screening_changes_no_posterior_and_keeps_each_group(prior):
    log_nh, gamma, shapes = prior
    counts = np.random.default_rng(4).poisson(300 * shapes[11].numpy() + 0.1).astype(float)
    args = (torch.as_tensor(counts), torch.full((112,), 0.1, dtype=torch.float64), shapes)
    far = torch.as_tensor(np.abs(log_nh - log_nh[11]) > 0.8)  # a group that holds none of the good draws
    full = evidence(*args, margin=np.inf)
    screened = evidence(*args, groups=[torch.ones_like(far), far])
    assert len(screened.index) < len(full.index) / 2
    for mask in (np.ones(len(far), bool), far.numpy()):
        a = posterior(full.marginal()[mask], {"log_nh": log_nh[mask]})
        b = posterior(screened.marginal()[mask], {"log_nh": log_nh[mask]})
        assert b.mean["log_nh"] == pytest.approx(a.mean["log_nh"], abs=1e-9)


def test_source_counts_prior_is_the_density_of_the_demos_source_counts():
    sig = np.exp(np.random.default_rng(5).normal(np.log(15), 0.8, 20000))
    prior = SourceCountsPrior().fit(sig)
    for background in (1.0, 200.0):
        u = np.linspace(-2, 14, 8001)
        dens = np.exp(prior.log_density(u, background))
        assert np.trapezoid(dens, u) == pytest.approx(1.0, abs=2e-3)
        sample = np.log(source_counts(sig, np.full(len(sig), background)))
        assert np.trapezoid(u * dens, u) == pytest.approx(sample.mean(), abs=0.01)
        joint = np.exp(prior.log_density_joint(u[None], np.array([0]), background))[0]
        assert np.trapezoid(joint, u) == pytest.approx(1.0, abs=2e-3)


def test_r2_interval_brackets_the_point_value():
    rng = np.random.default_rng(6)
    y = rng.normal(size=500)
    r2, lo, hi = r2_interval(y, y + rng.normal(scale=0.5, size=500), n_boot=300)
    assert lo < r2 < hi and r2 == pytest.approx(0.75, abs=0.08)
    assert r2_interval(y, y, n_boot=50)[0] == 1.0
