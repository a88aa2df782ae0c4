"""``ModelConfig``: every number that shapes the autoencoder, validated on creation.

The config is stored in ``config.json`` and in the safetensors metadata, and is all that is needed (with the
weights) to rebuild the model, as nanoGPT's ``GPTConfig`` is.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from core.errors import ConfigError

INPUT_TRANSFORMS = ("sqrt", "log")
LOSS_NORMS = ("spectrum", "photon")
INSTRUMENTS = ("fold", "none")


def check_int(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{name}={value!r}: must be a whole number in [{lo}, {hi}]")


def check_float(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (lo < value if lo_open else lo <= value) and value <= hi
    if not ok:
        bracket = "(" if lo_open else "["
        raise ConfigError(f"{name}={value!r}: must be a number in {bracket}{lo}, {hi}]")


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value!r}: must be one of {list(choices)}")


class DictConfig:
    """``to_dict`` / ``from_dict`` for config dataclasses saved with checkpoints; unknown fields are an error."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} fields {unknown}; known: {sorted(known)}")
        return cls(**d)


@dataclass(frozen=True)
class ModelConfig(DictConfig):
    """Shape of the transformer autoencoder.

    The spectrum (``n_bins`` bins) is cut into tokens of ``bins_per_token`` adjacent bins (the last token is
    zero-padded, its padding bins carrying weight 0 in the token features, when the division is not exact;
    attention does not mask it); each token carries its bins' transformed counts and
    background, plus an encoding of its energy. A pooling token, conditioned on the spectrum's count level,
    collects the sequence into ``latent_dim`` numbers; an MLP decoder maps them back to a shape.

    ``instrument="fold"`` (default): the decoder's shape is the source's photon spectrum on ``n_photon_bins``
    log-spaced bins from ``photon_e_min`` to ``photon_e_max`` keV, folded through each spectrum's own response
    (``core.model.instrument``); with ``response_input`` the encoder's tokens also carry the shape of that
    response's effective area. ``"none"``: the decoder's shape is the counts spectrum on the channel grid (the model
    before responses were stored; configs saved without this field load as "none").
    """

    n_bins: int = 112
    bins_per_token: int = 8
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 3
    latent_dim: int = 8
    dropout: float = 0.1
    decoder_hidden: int = 256
    n_energy_freqs: int = 8  # sinusoidal frequencies of the log-energy position encoding
    input_transform: str = "sqrt"  # "sqrt": sqrt of counts relative to the mean per bin; "log": log1p of that
    loss_norm: str = "spectrum"  # "spectrum": each spectrum weighs the same; "photon": each count weighs the same
    instrument: str = "fold"  # "fold": decode a photon spectrum and fold it through the response; "none": counts
    photon_e_min: float = 0.3  # keV, the decoder's photon grid (core.spectra.response_grid.PhotonGrid)
    photon_e_max: float = 10.0
    n_photon_bins: int = 240
    response_input: bool = True  # the encoder sees the log effective-area shape of each spectrum's response

    def __post_init__(self) -> None:
        check_int("n_bins", self.n_bins, 2, 16384)
        check_int("bins_per_token", self.bins_per_token, 1, self.n_bins)
        check_int("d_model", self.d_model, 8, 4096)
        check_int("n_heads", self.n_heads, 1, 64)
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads}")
        check_int("n_layers", self.n_layers, 1, 48)
        check_int("latent_dim", self.latent_dim, 1, 512)
        check_float("dropout", self.dropout, 0.0, 0.9)
        check_int("decoder_hidden", self.decoder_hidden, 8, 16384)
        check_int("n_energy_freqs", self.n_energy_freqs, 1, 64)
        check_choice("input_transform", self.input_transform, INPUT_TRANSFORMS)
        check_choice("loss_norm", self.loss_norm, LOSS_NORMS)
        check_choice("instrument", self.instrument, INSTRUMENTS)
        check_float("photon_e_min", self.photon_e_min, 0.0, 100.0, lo_open=True)
        check_float("photon_e_max", self.photon_e_max, self.photon_e_min, 100.0, lo_open=True)
        check_int("n_photon_bins", self.n_photon_bins, 2, 8192)
        if not isinstance(self.response_input, bool):
            raise ConfigError(f"response_input={self.response_input!r}: must be true or false")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        """Configs saved before the instrument-aware model have no ``instrument``: they decode counts."""
        return super().from_dict({"instrument": "none", **d})

    @property
    def folds(self) -> bool:
        return self.instrument == "fold"

    @property
    def n_decoded(self) -> int:
        """Length of the decoder's output: photon-grid bins when folding, channel-grid bins otherwise."""
        return self.n_photon_bins if self.folds else self.n_bins

    @property
    def n_tokens(self) -> int:
        return -(-self.n_bins // self.bins_per_token)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)
