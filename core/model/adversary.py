"""A response adversary on the latent: the domain-adversarial idea of Ganin & Lempitsky (2015) with the confusion
objective of Tzeng et al. (2015, "Simultaneous deep transfer across domains and tasks").

A small classifier learns, from the detached latent, which response each spectrum went through; the encoder, at
``strength``, pulls the frozen classifier's prediction towards uniform (cross-entropy to the uniform
distribution). Its optimum is a latent from which the response cannot be told. Gradient reversal (the encoder
maximises the classifier's cross-entropy) was tried first and cycled: maximising the cross-entropy rewards latents
that name the wrong response, which the classifier then learns to read (on the toy of tests/test_adversary.py the
response's share of the encoder weights stayed at 0.30 with reversal and fell to 0.005 with confusion).

The classifier is trained by the same optimiser as the autoencoder, but it is no part of the model:
``model.safetensors`` never holds it and encoding never uses it (``checkpoint.pt`` keeps its state, so training
resumes exactly). Only the encoder feels it. With one response in the data the term is zero. The strength ramps
from 0 to ``TrainConfig.adversary_weight`` over training with Ganin & Lempitsky's schedule
(2 / (1 + exp(-10 p)) - 1, p the fraction of training done), so the classifier first learns something.

Alone it is dodged rather than satisfied (issue 8, third pass, docs/autoencoder.md): trained by the autoencoder's
optimiser, one step a batch at the decaying learning rate, the classifier was fooled (0.30 balanced accuracy on
the validation latents) while a fresh MLP of the same shape, trained to convergence on the same latents, told the
response at 0.55. ``TrainConfig.adversary_steps`` = n >= 1 gives the classifier its own Adam at a constant
``adversary_lr``, n steps on each batch's detached latent before the encoder's step (0, the default: the
second-pass behaviour); measured, that made the leakage worse (0.38 with 5 steps, 0.46 with 256 hidden units,
against 0.37): a classifier that has caught up with one batch is fooled by the next. The default adds the latent
MMD between responses instead (``core.model.mmd``), which no classifier has to catch up with.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def ramp(progress: float) -> float:
    """Ganin & Lempitsky's schedule of the reversal strength, 0 at the start of training to ~1 at its end."""
    return 2.0 / (1.0 + math.exp(-10.0 * min(max(progress, 0.0), 1.0))) - 1.0


class ResponseAdversary(nn.Module):
    """latent (N, D) -> logits (N, n_responses) of which response each spectrum went through."""

    def __init__(self, latent_dim: int, n_responses: int, hidden: int = 64) -> None:
        super().__init__()
        self.n_responses = n_responses
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, n_responses))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)

    def frozen(self, z: Tensor) -> Tensor:
        """Logits with the classifier's weights held fixed: gradients reach ``z`` only."""
        h = z
        for layer in self.net:
            h = nn.functional.linear(h, layer.weight.detach(), layer.bias.detach()) if isinstance(layer, nn.Linear) \
                else layer(h)
        return h

    def loss(self, z: Tensor, index: Tensor, strength: float, learn: bool = True) -> Tensor:
        """The adversary's term of the training loss (zero with one response): the classifier's cross-entropy on
        the detached latent (unless ``learn`` is False: it learns by ``fit``), plus ``strength`` x the frozen
        classifier's cross-entropy to uniform (reaches z only)."""
        if self.n_responses < 2:
            return z.new_zeros(())
        confuse = -nn.functional.log_softmax(self.frozen(z), dim=1).mean(dim=1).mean()  # CE to uniform
        if not learn:
            return strength * confuse
        return nn.functional.cross_entropy(self(z.detach()), index) + strength * confuse

    def fit(self, z: Tensor, index: Tensor, opt: torch.optim.Optimizer, steps: int) -> None:
        """``steps`` updates of the classifier alone, by its own optimiser, on a batch's detached latent."""
        if self.n_responses < 2:
            return
        z = z.detach()
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(self(z), index).backward()
            opt.step()
