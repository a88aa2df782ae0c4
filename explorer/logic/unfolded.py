"""A source's spectrum through its own response: the decoded counts shape of one row, and the unfolded spectrum
(photons cm-2 s-1 keV-1 and E F(E)) as XSPEC's ``plot ufspec``/``eufspec`` draw it, with the decoded model."""
from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.logic.spectra import poisson_errors


def row_instrument(model, dataset, row: int):
    """(Instrument holding only this row's response, its index tensor): one click folds one response, not all."""
    import torch

    from core.model.instrument import instrument_for

    rs = dataset.responses
    r = [int(rs.index[row])] if rs is not None else []
    one = None if rs is None else rs.__class__(rs.photon_edges, rs.channel_edges, rs.arf[r], rs.rmf[r], rs.names[r],
                                              np.zeros(1, dtype=np.int32))
    instrument, index = instrument_for(one, 1, model.photon_edges.cpu().numpy(), dataset.energy_edges)
    return instrument, torch.as_tensor(index)


def row_counts_shape(model, dataset, row: int, latent: np.ndarray) -> np.ndarray:
    """The decoded source counts shape (B,) of one row, through the row's own response, sums to 1."""
    import torch

    z = torch.as_tensor(np.asarray(latent, np.float32)[None])
    with torch.no_grad():
        if not model.config.folds:
            return model.counts_shape(z)[0].double().numpy()
        return model.counts_shape(z, *row_instrument(model, dataset, row))[0].double().numpy()


def unfolded_spectrum(model, dataset, row: int, latent: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A source's unfolded spectrum, as XSPEC's ``plot ufspec``/``eufspec`` draws it, with its decoded model.

    Returns (model, data) tables. ``model``: per photon-grid bin ``energy`` (keV), ``flux`` (photons cm-2 s-1
    keV-1) and ``eflux`` (E F(E), keV cm-2 s-1 keV-1) of the decoded photon spectrum, normalised so that folded
    through the spectrum's own response and exposure it gives the maximum-likelihood source counts. ``data``: per
    channel-grid bin the background-subtracted counts unfolded the same way (model flux at the bin's energy times
    data / folded model), with Poisson error bars, ``good`` for bins with weight > 0, and for simulated rows
    ``truth``: the noiseless source counts unfolded the same way. The model's ``constrained`` marks the photon bins
    inside the data's energy range (the channel grid's): outside it no count constrains the decoded spectrum, and
    XSPEC plots a model only over the noticed channels. Only for models that decode photon spectra
    (``instrument="fold"``); a ValueError otherwise.
    """
    import torch

    from core.evaluation.measures import predicted_counts

    if not model.config.folds:
        raise ValueError("this run's model decodes counts, not photon spectra (trained before responses were stored)")
    instrument, index = row_instrument(model, dataset, row)
    with torch.no_grad():
        photons = model.decode_photons(torch.as_tensor(np.asarray(latent, np.float32)[None]))  # (1, E)
        folded = instrument.fold(photons, index)[0].double().numpy()  # counts per photon cm-2
    counts = np.asarray(dataset.spectra[row], float)
    bkg = np.asarray(dataset.background[row], float)
    w = np.ones_like(counts) if dataset.weights is None else np.asarray(dataset.weights[row], float)
    exposure = float(dataset.catalog["exposure"].iloc[row])
    shape = folded / max(folded.sum(), 1e-300)
    source = predicted_counts(shape[None], counts[None], bkg[None], w[None])[0] - bkg * w  # ML source counts per bin
    photon_flux = source.sum() / max(exposure * (folded * w).sum(), 1e-300)  # photons cm-2 s-1 in the whole model
    pe = model.photon_edges.double().numpy()
    e_mid = np.sqrt(pe[1:] * pe[:-1])
    flux = photon_flux * photons[0].double().numpy() / np.diff(pe)
    edges = np.asarray(dataset.energy_edges, float)
    model_table = pd.DataFrame({"energy": e_mid, "flux": flux, "eflux": e_mid * flux,
                                "constrained": (pe[1:] > edges[0]) & (pe[:-1] < edges[-1])})
    centre = 0.5 * (edges[1:] + edges[:-1])
    scale = np.interp(centre, e_mid, flux) / np.where(source > 0, source, np.nan)  # flux per source count
    lo, hi = poisson_errors(counts)
    data = pd.DataFrame({"energy": centre, "e_lo": edges[:-1], "e_hi": edges[1:], "flux": (counts - bkg) * scale,
                         "err_lo": lo * scale, "err_hi": hi * scale, "good": w > 0})
    cols = ["flux", "err_lo", "err_hi"]
    if dataset.truth is not None:  # simulated: the noiseless source counts, unfolded as the data are
        data["truth"] = np.asarray(dataset.truth[row], float) * scale
        cols.append("truth")
    for col in cols:
        data["e" + col] = data[col] * centre
    return model_table, data


def traversal_counts(model, dataset, row: int, z: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts per bin (B,) for the latent ``z`` and for the starting latent ``start`` of source ``row``,
    both decoded through the row's own response and observed with its background: the start's source counts are
    fitted to the row's counts by maximum likelihood (as the source view's reconstruction), and ``z``'s spectrum
    gets the same source counts. So the start curve lies on the observed counts as it does on the source page, and
    moving a slider changes the shape at the same brightness. NaN in bins of bad quality."""
    from core.evaluation.measures import good_weights, predicted_counts

    counts = np.asarray(dataset.spectra[row], float)[None]
    bkg = np.asarray(dataset.background[row], float)[None]
    w = good_weights(None if dataset.weights is None else np.asarray(dataset.weights[row], float)[None], counts)
    shape_z, shape_start = (row_counts_shape(model, dataset, row, v)[None] for v in (z, start))
    mu_start = predicted_counts(shape_start, counts, bkg, w)
    source = (mu_start - bkg * w).sum()
    mu_z = source * shape_z * w / max(float((shape_z * w).sum()), 1e-300) + bkg * w
    bad = w[0] == 0  # bins of bad quality: no expectation to draw (the observed points there are not used either)
    return np.where(bad, np.nan, mu_z[0]), np.where(bad, np.nan, mu_start[0])
