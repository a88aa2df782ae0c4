"""The response adversary (core.model.adversary): its classifier learns while the encoder alone is pushed, it
removes the response from a latent that had no reason to drop it, and training with it resumes exactly without
putting it into the model file."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.model import ModelConfig, load_model
from core.model.adversary import ResponseAdversary, ramp
from core.run.train import TrainConfig, train
from tiny_data import make_tiny_dataset

SMALL = dict(n_bins=32, bins_per_token=4, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32)


def test_the_classifier_learns_from_the_detached_latent_and_only_the_latent_is_confused():
    torch.manual_seed(0)
    adv = ResponseAdversary(4, 3)
    z = torch.randn(6, 4, requires_grad=True)
    index = torch.tensor([0, 1, 2, 0, 1, 2])
    adv.loss(z, index, 0.0).backward()  # strength 0: the classifier learns, the latent feels nothing
    assert torch.count_nonzero(z.grad) == 0 and adv.net[0].weight.grad.abs().sum() > 0
    z.grad, before = None, adv.net[0].weight.grad.clone()
    adv.loss(z, index, 1.0).backward()  # the confusion term reaches z, not the classifier
    assert z.grad.abs().sum() > 0 and torch.equal(adv.net[0].weight.grad, 2 * before)
    assert ramp(0.0) == 0.0 and 0.99 < ramp(1.0) < 1.0 and ramp(0.2) < ramp(0.5)
    assert float(ResponseAdversary(4, 1).loss(torch.randn(5, 4), torch.zeros(5, dtype=torch.long), 1.0)) == 0.0


def _response_share(weight: float, steps: int = 0) -> float:
    """A 3-d linear "encoder" of (signal, signal, noise + response) trained to reconstruct the signal, with a spare
    latent dimension where the response can sit unharmed: the size of its weights on the response input relative
    to those on the signal (a linear latent tells the response exactly unless that weight is 0)."""
    g = torch.Generator().manual_seed(0)
    n = 512
    signal = torch.randn(n, 2, generator=g)
    response = torch.randint(0, 2, (n,), generator=g)
    x = torch.cat([signal, torch.randn(n, 1, generator=g) + 3.0 * response[:, None].float()], dim=1)
    torch.manual_seed(0)
    encoder, decoder = torch.nn.Linear(3, 3), torch.nn.Linear(3, 2)
    adversary = ResponseAdversary(3, 2, hidden=16)
    own = torch.optim.Adam(adversary.parameters(), lr=1e-2) if steps else None  # the classifier's own optimiser
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters(),
                            *([] if steps else adversary.parameters())], lr=1e-2)
    for _ in range(400):
        z = encoder(x)
        loss = ((decoder(z) - signal) ** 2).mean()
        if weight > 0 and steps:
            adversary.fit(z, response, own, steps)
        if weight > 0:
            loss = loss + adversary.loss(z, response, weight, learn=not steps)
        opt.zero_grad()
        loss.backward()
        opt.step()
    w = encoder.weight.detach()
    return float(w[:, 2].norm() / w[:, :2].norm())


def test_the_adversary_removes_the_response_from_the_latent():
    without, with_adv = _response_share(0.0), _response_share(1.0)
    assert without > 0.2  # nothing asked the encoder to drop the response, and it kept it
    assert with_adv < 0.1 * without
    assert _response_share(1.0, steps=3) < 0.1 * without  # the classifier on its own optimiser, 3 steps a batch


def test_fit_trains_the_classifier_alone_and_the_confusion_term_then_reaches_only_the_latent():
    torch.manual_seed(0)
    adv = ResponseAdversary(4, 3, hidden=8)
    z = torch.randn(60, 4, requires_grad=True)
    index = torch.arange(60) % 3
    z_sep = z.detach() + 3.0 * torch.nn.functional.one_hot(index, 4).float()  # the response is easy to tell
    before = float(torch.nn.functional.cross_entropy(adv(z_sep), index))
    adv.fit(z_sep, index, torch.optim.Adam(adv.parameters(), lr=1e-2), 50)
    assert float(torch.nn.functional.cross_entropy(adv(z_sep), index)) < 0.5 * before and z.grad is None
    adv.zero_grad(set_to_none=True)
    adv.loss(z, index, 1.0, learn=False).backward()
    assert z.grad.abs().sum() > 0 and all(p.grad is None for p in adv.parameters())


class Stop(Exception):
    pass


def _stop_after_one(epoch: int, row: dict) -> None:
    if epoch == 1:
        raise Stop


@pytest.mark.parametrize("steps", [0, 2])
def test_training_with_the_adversary_resumes_exactly_and_keeps_it_out_of_the_model_file(tmp_path, steps):
    data = make_tiny_dataset(tmp_path / "tiny", n=96, with_responses=True)
    tc = TrainConfig(max_epochs=2, batch_size=32, adversary_weight=1.0, adversary_steps=steps)
    straight = train(data, tmp_path / "straight", ModelConfig(**SMALL), tc, progress=False)
    try:
        train(data, tmp_path / "resumed", ModelConfig(**SMALL), tc, progress=False, on_epoch_end=_stop_after_one)
    except Stop:
        pass
    resumed = train(data, tmp_path / "resumed", ModelConfig(**SMALL), tc, progress=False)
    a, b = (torch.load(r / "checkpoint.pt", weights_only=True) for r in (straight, resumed))
    assert a["epoch"] == b["epoch"] == 2 and any(k.startswith("net.") for k in a["adversary"])
    assert ("adversary_optimizer" in a) == (steps > 0)
    for k in a["adversary"]:
        assert torch.equal(a["adversary"][k], b["adversary"][k])
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k])
    assert not any(k.startswith("net.") for k in load_model(straight).state_dict())


def test_runs_saved_before_the_adversary_load_without_it():
    old = {k: v for k, v in TrainConfig().to_dict().items() if not k.startswith(("adversary_", "mmd_"))}
    assert TrainConfig.from_dict(old).adversary_weight == 0.0 and TrainConfig.from_dict(old).adversary_steps == 0
    second_pass = {**old, "adversary_weight": 1.0}  # saved before the classifier had its own optimiser
    assert TrainConfig.from_dict(second_pass).adversary_steps == 0 and TrainConfig.from_dict(old).mmd_weight == 0.0
    third_pass = TrainConfig()  # issue 8's third pass: the adversary and the latent MMD (weight 0.1), chosen on val
    assert (third_pass.adversary_weight, third_pass.adversary_steps, third_pass.mmd_weight) == (1.0, 0, 0.1)
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig() and TrainConfig().adversary_weight == 1.0
