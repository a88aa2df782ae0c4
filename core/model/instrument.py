"""``Instrument``: folds decoded photon spectra through each spectrum's own response, batched by response index.

Spender (Melchior et al. 2023) puts the instrument inside the network for optical spectra; here the instrument
is the ACIS response: expected counts in channel-grid bin b = sum_e photons_e * R[r, e, b], with R = ARF x RMF on the
model's photon grid (``core.data.responses``). The responses are buffers of this module, not of the autoencoder:
an ``Instrument`` is built at call time from the data being scored (a dataset's ``responses.npz``, or an upload's
own ARF/RMF), so one trained model serves any response. The autoencoder keeps one response of its own, the
training rows' mean (``reference_matrix``), for decoding a latent that belongs to no spectrum (latent traversal).

The encoder is told the response it sees through by ``area_feature``: per channel-grid bin, the log of the folded
effective area (counts per second per keV of bin width for a flat 1 photon cm-2 s-1 keV-1 source, cm2) minus its
mean over the bins: the shape of the effective area. Brightness is fitted, never decoded, so only the shape matters.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from core.spectra.response_grid import overlap_weights

AREA_FLOOR = 1.0  # cm2 added before the log: bins the response barely reaches do not dominate the feature


def nominal_matrix(photon_edges: np.ndarray, channel_edges: np.ndarray) -> np.ndarray:
    """(E, B): the response of a perfect 1 cm2 detector (each photon lands in the channel bin of its energy).

    The stand-in for data whose response is unknown (datasets written before responses were stored): the decoded
    photon spectrum is then the counts spectrum, as before the instrument-aware model.
    """
    ch = np.asarray(channel_edges, float)
    return overlap_weights(ch[:-1], ch[1:], np.asarray(photon_edges, float)).T.astype(np.float32)


def effective_area(matrix: Tensor, photon_edges: Tensor, channel_edges: Tensor) -> Tensor:
    """(..., E, B) responses -> (..., B) folded effective area per channel-grid bin (cm2)."""
    return (matrix * torch.diff(photon_edges)[:, None]).sum(dim=-2) / torch.diff(channel_edges)


def centred_log_area(eff: Tensor) -> Tensor:
    """(..., B) effective areas -> the encoder's feature: log(area + AREA_FLOOR), centred over the bins."""
    log_a = torch.log(eff + AREA_FLOOR)
    return log_a - log_a.mean(dim=-1, keepdim=True)


def area_feature(matrix: Tensor, photon_edges: Tensor, channel_edges: Tensor) -> Tensor:
    """(..., E, B) responses -> (..., B) centred log effective area per channel-grid bin."""
    return centred_log_area(effective_area(matrix, photon_edges, channel_edges))


class Instrument(nn.Module):
    """Responses (R, E, B) as buffers; ``fold`` and ``area`` take each spectrum's response index (N,)."""

    def __init__(self, matrix: np.ndarray | Tensor, photon_edges: np.ndarray | Tensor,
                 channel_edges: np.ndarray | Tensor) -> None:
        super().__init__()
        m = torch.as_tensor(np.asarray(matrix, dtype=np.float32))
        if m.ndim == 2:
            m = m[None]
        pe = torch.as_tensor(np.asarray(photon_edges, dtype=np.float64), dtype=torch.float32)
        ce = torch.as_tensor(np.asarray(channel_edges, dtype=np.float64), dtype=torch.float32)
        if m.shape[1:] != (len(pe) - 1, len(ce) - 1):
            raise ValueError(f"responses of shape {tuple(m.shape)} do not fit {len(pe) - 1} photon bins and "
                             f"{len(ce) - 1} channel bins")
        self.register_buffer("matrix", m)  # (R, E, B)
        self.register_buffer("photon_edges", pe)
        self.register_buffer("channel_edges", ce)
        self.register_buffer("area_features", area_feature(m, pe, ce))  # (R, B)

    @classmethod
    def from_responses(cls, responses) -> "Instrument":
        """From a ``core.data.responses.ResponseSet``."""
        return cls(responses.matrix(), responses.photon_edges, responses.channel_edges)

    @property
    def n_responses(self) -> int:
        return int(self.matrix.shape[0])

    def area(self, index: Tensor) -> Tensor:
        return self.area_features[index]

    def fold(self, photons: Tensor, index: Tensor) -> Tensor:
        """photons (N, E) through response index (N,) -> expected counts per unit exposure (N, B).

        One matrix multiply per distinct response in the batch (never an (N, E, B) gather)."""
        if self.n_responses == 1:
            return photons @ self.matrix[0]
        out = photons.new_zeros(len(photons), self.matrix.shape[2])
        for r in torch.unique(index).tolist():
            sel = index == r
            out[sel] = photons[sel] @ self.matrix[r]
        return out

    def mean_matrix(self, index: Tensor) -> Tensor:
        """(E, B): the responses averaged over rows (the model's reference response)."""
        counts = torch.bincount(index, minlength=self.n_responses).to(self.matrix.dtype)
        return (self.matrix * (counts / counts.sum().clamp(min=1))[:, None, None]).sum(dim=0)


def instrument_for(responses, n_rows: int, photon_edges: np.ndarray | Tensor,
                   channel_edges: np.ndarray) -> tuple[Instrument, np.ndarray]:
    """(Instrument, response index per row) for data with a ``ResponseSet`` (or None: the nominal response for
    every row, the data predating stored responses). Refuses responses on another photon grid than the model's."""
    photon_edges = np.asarray(photon_edges, dtype=np.float64)
    if responses is None:
        return Instrument(nominal_matrix(photon_edges, channel_edges), photon_edges, channel_edges), \
            np.zeros(n_rows, dtype=np.int64)
    have = np.asarray(responses.photon_edges, dtype=np.float64)
    if len(have) != len(photon_edges) or not np.allclose(have, photon_edges, rtol=1e-5):
        from core.errors import ConfigError

        raise ConfigError(f"the data's responses are on a photon grid of {len(have) - 1} bins "
                          f"({have[0]:.3g}-{have[-1]:.3g} keV); the model's has {len(photon_edges) - 1} "
                          f"({photon_edges[0]:.3g}-{photon_edges[-1]:.3g} keV)")
    return Instrument.from_responses(responses), np.asarray(responses.index, dtype=np.int64)
