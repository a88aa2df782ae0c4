"""The training losses of one batch: count thinning, the reconstruction loss, and the optional invariance terms
(the consistency loss, ``core.model.consistency``; the response adversary, ``core.model.adversary``); and the
validation loss. See ``core.run.train`` for count thinning and why validation uses one fixed thinning."""
from __future__ import annotations

import numpy as np
import torch

from core.model.adversary import ResponseAdversary
from core.model.autoencoder import SpectrumAutoencoder
from core.model.consistency import consistency_loss
from core.model.mmd import response_mmd
from core.model.instrument import Instrument
from core.run.augment import perturb_batch
from core.run.train_config import TrainConfig


def thin_counts(counts: torch.Tensor, background: torch.Tensor, tc: TrainConfig,
                rng: np.random.Generator) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Binomial count thinning: ((input counts, input background), (target counts, target background)).

    Drawn with numpy (torch.binomial is ~1000x slower on CPU), then moved to the counts' device.
    """
    c = counts.detach().cpu().numpy().astype(np.int64)
    frac = rng.uniform(tc.split_min, tc.split_max, size=(len(c), 1))  # (N, 1)
    part = torch.from_numpy(rng.binomial(c, frac).astype(np.float32)).to(counts.device)  # (N, B)
    f = torch.from_numpy(frac.astype(np.float32)).to(counts.device)
    return (part, background * f), (counts - part, background * (1 - f))


def count_weighted(per: torch.Tensor, counts: torch.Tensor, weights: torch.Tensor, power: float) -> torch.Tensor:
    """The batch's loss with spectrum i weighted by n_i^power, n_i its (whole, unthinned) counts in good bins:
    the per-spectrum loss is a deviance / (2 n), so power 1 weighs every count the same (a bright spectrum's
    excess deviance per bin is ~2 n KL / B, so a KL that passes for a faint spectrum fails a bright one)."""
    n = (counts * weights).sum(dim=1).clamp(min=1.0) ** power  # (N,)
    return (per * n).sum() / n.sum()


def batch_loss(model: SpectrumAutoencoder, counts: torch.Tensor, background: torch.Tensor, weights: torch.Tensor,
               index: torch.Tensor, tc: TrainConfig, gen: np.random.Generator | None, instrument: Instrument,
               per_spectrum: bool = False, adversary: ResponseAdversary | None = None,
               strength: float = 0.0, adversary_opt: torch.optim.Optimizer | None = None) -> torch.Tensor:
    """The batch's training loss (per spectrum: the reconstruction loss alone, as validation scores it).
    ``adversary`` with confusion ``strength``: the response adversary's term is added (training only). With
    ``adversary_opt`` the classifier first takes ``tc.adversary_steps`` steps of its own on the batch's detached
    latent, and the loss holds the confusion term alone; without, the loss also trains it."""
    if tc.response_aug > 0 and gen is not None and not per_spectrum and model.config.folds:
        centres = 0.5 * (model.energy_edges[1:] + model.energy_edges[:-1]).cpu().numpy()
        counts, background, instrument = perturb_batch(counts, background, index, instrument, centres,
                                                       tc.response_aug, tc.response_aug_prob, gen)
    if tc.count_split and gen is not None:
        (c_in, b_in), target = thin_counts(counts, background, tc, gen)
    else:
        c_in, b_in, target = counts, background, None
    if per_spectrum:
        return model.spectrum_loss(c_in, b_in, weights, target, instrument, index)
    consistency = tc.consistency_weight > 0 and gen is not None and model.config.folds
    mmd = tc.mmd_weight > 0 and gen is not None and model.config.folds
    z = model.encode(c_in, b_in, weights, instrument, index)
    t_counts, t_bkg = (c_in, b_in) if target is None else target
    per = model.latent_loss(z, t_counts, t_bkg, weights, instrument, index)  # (N,)
    loss = count_weighted(per, counts, weights, tc.count_weight) if tc.count_weight > 0 else \
        model.reduce_loss(per, t_counts, weights)
    if consistency:
        loss = loss + tc.consistency_weight * consistency_loss(model, z, c_in, b_in, weights, instrument, index, gen)
    if mmd:
        loss = loss + tc.mmd_weight * response_mmd(z, index)
    if adversary is not None:
        if adversary_opt is not None:
            adversary.fit(z, index, adversary_opt, tc.adversary_steps)
        loss = loss + adversary.loss(z, index, strength, learn=adversary_opt is None)
    return loss


@torch.no_grad()
def evaluate_loss(model: SpectrumAutoencoder, data: tuple[torch.Tensor, ...], batch_size: int,
                  tc: TrainConfig, instrument: Instrument) -> float:
    """Validation loss: the mean per-spectrum loss (whatever ``loss_norm`` is), on one fixed count thinning."""
    model.eval()
    gen = np.random.default_rng([tc.seed, 1])
    total, n = 0.0, 0
    for i in range(0, len(data[0]), batch_size):
        batch = [t[i:i + batch_size] for t in data]
        total += float(batch_loss(model, *batch, tc, gen, instrument, per_spectrum=True).sum())
        n += len(batch[0])
    return total / max(n, 1)
