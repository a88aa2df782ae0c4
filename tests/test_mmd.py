"""The latent MMD between responses (core.model.mmd): near zero when the response says nothing about the latent,
large when it does, blind to the latent's scale, zero with one response, and its gradient reaches the latent."""
from __future__ import annotations

import torch

from core.model.mmd import response_mmd


def test_the_mmd_tells_a_latent_that_names_the_response_from_one_that_does_not():
    torch.manual_seed(0)
    z = torch.randn(256, 8)
    index = torch.randint(0, 4, (256,))
    blind = float(response_mmd(z, index))
    shifted = z.clone()
    shifted[:, 0] += 2.0 * index.float()
    named = float(response_mmd(shifted, index))
    assert abs(blind) < 0.02 and named > 0.1
    assert abs(float(response_mmd(10.0 * shifted, index)) - named) < 1e-4  # shrinking the latent cannot lower it
    assert float(response_mmd(z, torch.zeros(256, dtype=torch.long))) == 0.0


def test_its_gradient_pulls_the_responses_together():
    torch.manual_seed(0)
    index = torch.arange(128) % 2
    z = (torch.randn(128, 4) + 1.5 * index[:, None].float()).requires_grad_(True)
    response_mmd(z, index).backward()
    step = -z.grad  # descent direction: response 1 should move towards response 0 along every axis, and back
    assert float(step[index == 1].mean()) < 0 < float(step[index == 0].mean())


def test_training_with_the_mmd_runs_and_scores_finite_losses(tmp_path):
    from core.model import ModelConfig
    from core.run.train import TrainConfig, train
    from tiny_data import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "tiny", n=96, with_responses=True)
    small = dict(n_bins=32, bins_per_token=4, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32)
    run = train(data, tmp_path / "run", ModelConfig(**small), TrainConfig(max_epochs=1, batch_size=32, mmd_weight=1.0),
                progress=False)
    hist = (run / "history.csv").read_text().splitlines()
    assert len(hist) == 2 and all(v not in hist[1] for v in ("nan", "inf"))
