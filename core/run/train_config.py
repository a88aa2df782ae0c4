"""``TrainConfig``: every training setting, validated on creation and saved with the run (config.json,
checkpoint.pt); fields added later have defaults, so runs saved before them load with the old behaviour."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError
from core.model.config import DictConfig, check_choice, check_float, check_int


@dataclass(frozen=True)
class TrainConfig(DictConfig):
    seed: int = 0
    max_epochs: int = 40
    batch_size: int = 128
    lr: float = 2e-3
    min_lr_ratio: float = 0.05  # cosine decay from lr to lr * min_lr_ratio over max_epochs
    warmup_epochs: int = 1
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    patience: int = 8  # epochs without a better validation loss before stopping
    min_counts: int = 1  # spectra with fewer counts (in good bins) are left out of training
    count_split: bool = True  # count thinning: input a binomial part of the counts, score the prediction on the rest
    split_min: float = 0.2  # the input's (thinned) fraction of the counts is drawn in [split_min, split_max]
    split_max: float = 0.8
    device: str = "auto"  # "auto" (CUDA when present), "cpu", "cuda", "cuda:1", ...
    threads: int = 1  # CPU threads for torch (0: torch's default, one per core); see below
    consistency_weight: float = 0.0  # weight of the consistency loss (core.model.consistency); 0 = off
    adversary_weight: float = 1.0  # strength of the response adversary (core.model.adversary); 0 = off
    adversary_steps: int = 0  # classifier updates per batch by its own optimiser; 0: by the autoencoder's, once
    adversary_lr: float = 1e-3  # the classifier's own (constant) learning rate, with adversary_steps >= 1
    adversary_hidden: int = 64  # width of the classifier's two hidden layers
    mmd_weight: float = 0.1  # weight of the latent MMD between responses (core.model.mmd); 0 = off
    response_aug: float = 0.0  # strength of the response augmentation (core.run.augment); 0 = off
    response_aug_prob: float = 0.5  # share of training spectra whose response is perturbed, with response_aug > 0
    count_weight: float = 0.5  # spectra weigh as counts^count_weight in the batch's loss (0: each the same; issue 8)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Runs saved before the response adversary, the MMD or the count weighting (issue 8) trained without them."""
        return super().from_dict({"adversary_weight": 0.0, "adversary_steps": 0, "mmd_weight": 0.0,
                                   "response_aug": 0.0, "count_weight": 0.0, **d})

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0, 2**31 - 1)
        check_int("max_epochs", self.max_epochs, 1, 100000)
        check_int("batch_size", self.batch_size, 1, 1 << 20)
        check_float("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_float("min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        check_int("warmup_epochs", self.warmup_epochs, 0, self.max_epochs)
        check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        check_float("grad_clip", self.grad_clip, 0.0, 1e6)
        check_int("patience", self.patience, 1, 100000)
        check_int("min_counts", self.min_counts, 0, 10**9)
        check_int("threads", self.threads, 0, 1024)
        check_float("consistency_weight", self.consistency_weight, 0.0, 1e3)
        check_float("adversary_weight", self.adversary_weight, 0.0, 1e3)
        check_int("adversary_steps", self.adversary_steps, 0, 1000)
        check_float("adversary_lr", self.adversary_lr, 0.0, 10.0, lo_open=True)
        check_int("adversary_hidden", self.adversary_hidden, 1, 1 << 16)
        check_float("mmd_weight", self.mmd_weight, 0.0, 1e6)
        check_float("response_aug", self.response_aug, 0.0, 10.0)
        check_float("response_aug_prob", self.response_aug_prob, 0.0, 1.0)
        check_float("count_weight", self.count_weight, 0.0, 1.0)
        if self.response_aug > 0 and self.consistency_weight > 0:
            raise ConfigError("response_aug and consistency_weight cannot be combined: the consistency loss folds "
                              "through other rows' responses, the perturbation belongs to each row")
        check_float("split_min", self.split_min, 0.0, 1.0, lo_open=True)
        check_float("split_max", self.split_max, self.split_min, 1.0)
        if self.count_split and self.split_max >= 1.0:
            raise ConfigError(f"split_max={self.split_max}: must be < 1 with count_split (the target needs counts)")
        if not (self.device in ("auto", "cpu") or str(self.device).startswith("cuda")):
            check_choice("device", self.device, ("auto", "cpu", "cuda"))
