"""A run's latent beside the ceiling of ``nh_ceiling.py``: R² of the parameters from the latent with the regressor
trained on the training split's latents (7,762 on the demo) and scored on the split, rather than `evaluate`'s 5x5
folds inside the split (~1,350 training spectra a fold). The gap between the two says how much of the latent's
shortfall is the regressor's small training set rather than the latent."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.evaluation.ceiling import r2_interval  # noqa: E402
from core.evaluation.comparison import regression_targets  # noqa: E402


def latent_r2(run_path: str, ds, rows: np.ndarray, boot: int, trees: int = 200) -> dict:
    """{target: {r2, ci95, n}} for a random forest (``trees`` trees, leaves of >= 3, as evaluate's regressor) on
    the run's latents (encoder alone, encoded fresh through each row's response)."""
    from sklearn.ensemble import RandomForestRegressor
    from threadpoolctl import threadpool_limits

    from core.run.encode import dataset_instrument, encode_spectra
    from core.run.folder import RunFolder

    model = RunFolder(Path(run_path)).load_model("cpu")
    inst, index = dataset_instrument(model, ds)
    train = ds.split_index("train")

    def latents(idx: np.ndarray) -> np.ndarray:
        return encode_spectra(model, ds.spectra[idx], ds.background[idx],
                              None if ds.weights is None else ds.weights[idx], instrument=inst,
                              index=None if index is None else index[idx]).astype(np.float64)

    z_train, z = latents(train), latents(rows)
    out = {}
    for target, y in regression_targets(ds.catalog).items():
        ok_train, ok = np.isfinite(y[train]), np.isfinite(y[rows])
        rf = RandomForestRegressor(trees, min_samples_leaf=3, random_state=0, n_jobs=1)
        with threadpool_limits(1):
            pred = rf.fit(z_train[ok_train], y[train][ok_train]).predict(z[ok])
        r2, lo, hi = r2_interval(y[rows][ok], pred, boot)
        out[target] = {"r2": r2, "ci95": [lo, hi], "n": int(ok.sum())}
    return out
