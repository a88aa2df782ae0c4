"""The instrument-aware model: folding batched by response index, the maximum-likelihood source normalisation,
training and encoding through each spectrum's own response, checkpoints."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar

from core.data.dataset import load_dataset
from core.model import ModelConfig, SpectrumAutoencoder, load_model, save_model
from core.model.config import ModelConfig as MC
from core.model.consistency import consistency_loss
from core.model.instrument import Instrument, nominal_matrix
from core.model.likelihood import ml_source_counts, poisson_ml_loss
from core.run.encode import counts_shapes, dataset_instrument, encode_spectra
from core.run.train import TrainConfig, train
from tiny_data import make_tiny_dataset

SMALL = dict(n_bins=32, bins_per_token=4, d_model=16, n_heads=2, n_layers=1, decoder_hidden=32)


def brute_force_s(p: np.ndarray, c: np.ndarray, b: np.ndarray) -> float:
    nll = lambda s: -(c * np.log(s * p + b + 1e-300) - (s * p + b)).sum()  # noqa: E731
    return float(minimize_scalar(nll, bounds=(0.0, max(c.sum(), 1e-9)), method="bounded",
                                 options={"xatol": 1e-10}).x)


def test_ml_source_counts_match_a_brute_force_maximisation():
    g = np.random.default_rng(1)
    p = g.random((6, 20)) ** 3 + 1e-3
    p /= p.sum(axis=1, keepdims=True)
    level = np.array([[500.0], [30.0], [3.0], [0.0], [10.0], [2.0]])
    b = np.full((6, 20), 0.05)
    b[4:] = 1.0  # background-dominated: 20 expected background counts against 10 and 2 source counts
    c = g.poisson(p * level + b).astype(float)
    s = ml_source_counts(*(torch.from_numpy(a) for a in (p, c, b, np.ones_like(c))))[:, 0].numpy()
    want = np.array([brute_force_s(p[i], c[i], b[i]) for i in range(6)])
    np.testing.assert_allclose(s, want, rtol=1e-5, atol=1e-6)
    assert s[3] == 0.0 and c[4].sum() < b[4].sum() * 1.5
    # a spectrum with fewer counts than the background (N - B < 0) still trains the shape where its counts sit
    shape = torch.tensor([[0.7, 0.1, 0.1, 0.1]], requires_grad=True)
    counts, bkg = torch.tensor([[6.0, 0.0, 0.0, 0.0]]), torch.full((1, 4), 2.0)
    assert counts.sum() < bkg.sum()
    s_ml = ml_source_counts(shape.detach(), counts, bkg, torch.ones_like(counts))
    assert float(s_ml) == pytest.approx(brute_force_s(shape.detach().numpy()[0], counts.numpy()[0], bkg.numpy()[0]),
                                        rel=1e-5) and float(s_ml) > 1
    poisson_ml_loss(shape, counts, bkg, torch.ones_like(counts)).sum().backward()
    assert shape.grad[0, 0] < 0 and shape.grad.abs().sum() > 0.01  # more source where the counts are


def test_instrument_folds_each_row_through_its_own_response():
    g = torch.Generator().manual_seed(0)
    matrix = torch.rand(3, 5, 4, generator=g)
    inst = Instrument(matrix, np.linspace(0.3, 10, 6), np.linspace(0.5, 7, 5))
    photons = torch.rand(7, 5, generator=g)
    index = torch.tensor([2, 0, 1, 2, 2, 0, 1])
    want = torch.stack([photons[i] @ matrix[index[i]] for i in range(7)])
    assert torch.allclose(inst.fold(photons, index), want)
    assert inst.area(index).shape == (7, 4) and torch.allclose(inst.area(index).mean(dim=1), torch.zeros(7), atol=1e-6)
    # a perfect detector keeps a flat photon spectrum flat in counts per keV
    edges_p, edges_c = np.geomspace(0.3, 10, 200), np.linspace(0.5, 7, 11)
    flat = np.diff(edges_p) @ nominal_matrix(edges_p, edges_c)
    np.testing.assert_allclose(flat, np.diff(edges_c), rtol=1e-5)


@pytest.fixture(scope="module")
def folded_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fold")
    data = make_tiny_dataset(root / "tiny", n=160, with_responses=True)
    run = train(data, root / "run", ModelConfig(**SMALL), TrainConfig(max_epochs=2, batch_size=32,
                                                                        consistency_weight=0.5), progress=False)
    return data, run


def test_training_and_encoding_use_each_rows_response(folded_run):
    data, run = folded_run
    ds, model = load_dataset(data), load_model(run)
    assert model.config.folds and model.photon_edges.shape == (241,)
    inst, index = dataset_instrument(model, ds)
    assert inst.n_responses == 2 and np.array_equal(index, ds.responses.index)
    z = encode_spectra(model, ds.spectra[:6], ds.background[:6], instrument=inst, index=index[:6])
    own = counts_shapes(model, z, inst, index[:6])
    swapped = counts_shapes(model, z, inst, 1 - index[:6])
    assert np.allclose(own.sum(axis=1), 1, atol=1e-5) and not np.allclose(own, swapped, atol=1e-3)
    ref = model.reference_matrix.numpy()  # the training rows' mean response
    np.testing.assert_allclose(ref, ds.responses.matrix().mean(axis=0), rtol=0.05, atol=1e-3)


def test_fold_checkpoint_round_trip_and_old_configs(folded_run, tmp_path):
    data, run = folded_run
    model = load_model(run)
    save_model(model, tmp_path / "model.safetensors")
    again = load_model(tmp_path)
    ds = load_dataset(data)
    inst, index = dataset_instrument(model, ds)
    c, b = (torch.as_tensor(np.asarray(a[:5])) for a in (ds.spectra, ds.background))
    i = torch.as_tensor(index[:5])
    for x, y in zip(model(c, b, None, inst, i), again(c, b, None, inst, i)):
        assert torch.equal(x, y)
    old = {k: v for k, v in MC(**SMALL).to_dict().items()
           if k not in ("instrument", "photon_e_min", "photon_e_max", "n_photon_bins", "response_input")}
    assert MC.from_dict(old).instrument == "none"  # saved before responses: a counts decoder


def test_consistency_loss_is_zero_for_one_response_and_positive_for_two():
    torch.manual_seed(0)
    model = SpectrumAutoencoder(ModelConfig(**SMALL), energy_edges=np.linspace(0.5, 7, 33))
    counts = torch.poisson(torch.full((8, 32), 5.0))
    bkg, w = torch.full((8, 32), 0.1), torch.ones(8, 32)
    pe = model.photon_edges.numpy()
    one = Instrument(nominal_matrix(pe, np.linspace(0.5, 7, 33)), pe, np.linspace(0.5, 7, 33))
    two = Instrument(np.stack([one.matrix[0].numpy(), one.matrix[0].numpy() * np.linspace(0.1, 3, len(pe) - 1)[:, None]]),
                     pe, np.linspace(0.5, 7, 33))
    idx = torch.zeros(8, dtype=torch.long)
    rng = np.random.default_rng(0)
    z = model.encode(counts, bkg, w, one, idx)
    assert float(consistency_loss(model, z, counts, bkg, w, one, idx, rng)) == 0.0
    z = model.encode(counts, bkg, w, two, idx)
    assert float(consistency_loss(model, z, counts, bkg, w, two, idx, rng).detach()) > 0.0


def test_latent_refinement_never_fits_worse(folded_run):
    from core.evaluation.measures import deviance_per_bin, predicted_counts
    from core.model.refine import refine_latents

    data, run = folded_run
    ds, model = load_dataset(data), load_model(run)
    inst, index = dataset_instrument(model, ds)
    rows = slice(0, 12)
    args = (ds.spectra[rows], ds.background[rows], None, inst, index[rows])
    z0 = encode_spectra(model, *args[:2], instrument=inst, index=index[rows])
    z1 = refine_latents(model, z0, *args, steps=60)
    assert np.array_equal(refine_latents(model, z0, *args, steps=0), z0)
    dev = [deviance_per_bin(ds.spectra[rows], predicted_counts(counts_shapes(model, z, inst, index[rows]),
                                                               ds.spectra[rows], ds.background[rows])).mean()
           for z in (z0, z1)]
    assert dev[1] < dev[0]
    assert all(p.grad is None for p in model.parameters())


def _row_latent(folded_run, row: int):
    """(dataset, model, response index per row, the row's latent as the model encodes it)."""
    data, run = folded_run
    ds, model = load_dataset(data), load_model(run)
    inst, index = dataset_instrument(model, ds)
    z = encode_spectra(model, ds.spectra[row:row + 1], ds.background[row:row + 1], instrument=inst,
                       index=index[row:row + 1])[0]
    return ds, model, index, z


def test_unfolded_spectrum_folds_back_to_the_source_counts(folded_run):
    from explorer.logic.unfolded import row_counts_shape, unfolded_spectrum

    ds, model, index, z = _row_latent(folded_run, row := 3)
    model_t, data_t = unfolded_spectrum(model, ds, row, z)
    assert (model_t["flux"] > 0).all() and np.allclose(model_t["eflux"], model_t["energy"] * model_t["flux"])
    # photons cm-2 s-1 keV-1 x bin width x exposure, folded through the row's response = the fitted source counts
    pe = model.photon_edges.double().numpy()
    photons = model_t["flux"].to_numpy() * np.diff(pe) * float(ds.catalog["exposure"].iloc[row])
    folded = photons @ ds.responses.matrix()[index[row]].astype(float)
    shape = row_counts_shape(model, ds, row, z)
    np.testing.assert_allclose(folded / folded.sum(), shape, rtol=1e-4, atol=1e-7)
    s = ml_source_counts(*(torch.as_tensor(a[None], dtype=torch.float64) for a in
                           (shape, np.asarray(ds.spectra[row], float), np.asarray(ds.background[row], float),
                            np.ones(ds.n_bins))))
    assert folded.sum() == pytest.approx(float(s), rel=1e-4)
    assert len(data_t) == ds.n_bins and np.isfinite(data_t.loc[data_t["flux"].notna(), "err_hi"]).all()
    # the model is marked constrained exactly over the data's energy range (the photon grid is wider)
    e_lo, e_hi = float(ds.energy_edges[0]), float(ds.energy_edges[-1])
    inside = (pe[1:] > e_lo) & (pe[:-1] < e_hi)
    assert 0 < inside.sum() < len(pe) - 1 and (model_t["constrained"].to_numpy() == inside).all()
    # the noiseless source counts (the tiny dataset is simulated) unfolded as the data are: same flux per count
    per_count = data_t["flux"] / (np.asarray(ds.spectra[row], float) - ds.background[row])
    ratio = data_t["truth"] / (np.asarray(ds.truth[row], float) * per_count)
    np.testing.assert_allclose(ratio[np.isfinite(ratio)], 1.0, rtol=1e-6)


def test_traversal_starts_on_the_source_as_the_source_view_fits_it(folded_run):
    """The traversal's start curve is the source view's reconstruction (own response, ML source counts, its
    background); the slider curve keeps those source counts and changes the shape only."""
    from core.evaluation.measures import predicted_counts
    from explorer.logic.unfolded import row_counts_shape, traversal_counts

    ds, model, _, z = _row_latent(folded_run, row := 5)
    same, begin = traversal_counts(model, ds, row, z, z)
    counts, bkg = ds.spectra[row:row + 1], ds.background[row:row + 1]
    np.testing.assert_allclose(begin, predicted_counts(row_counts_shape(model, ds, row, z)[None], counts, bkg)[0])
    np.testing.assert_allclose(same, begin, rtol=1e-9)
    moved = z.copy()
    moved[0] += 2.0
    now, begin2 = traversal_counts(model, ds, row, moved, z)
    np.testing.assert_allclose(begin2, begin)
    assert now.sum() == pytest.approx(begin.sum(), rel=1e-9) and not np.allclose(now, begin, rtol=1e-3)
