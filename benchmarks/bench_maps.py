"""Maps at catalog scale: MapProjector (UMAP on landmarks, the rest placed) against umap-learn's defaults on the
same latents, side by side in one run, with trustworthiness; then the time and peak memory of mapping many latents.

    .venv/bin/python benchmarks/bench_maps.py --run runs/demo --n 100000 [--scale 1300000] [--skip-umap]

Latents are those of real encodings: ``--n`` spectra drawn with ``build-demo --n`` (simulated, like the demo) and
encoded by the run's model. The scale step tiles those latents with small Gaussian jitter (0.01 of each axis's
spread) up to ``--scale`` rows: encoding 1.3 million spectra is the encoder's benchmark (benchmarks/throughput.py),
this one measures the map. Peak memory is the process's maximum resident set (``ru_maxrss``), printed per step.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.maps.projector import MapProjector  # noqa: E402
from core.maps.quality import map_trustworthiness  # noqa: E402


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def encoded_latents(run: Path, n: int, seed: int) -> np.ndarray:
    from core.data.dataset import load_dataset
    from core.run.encode import encode_spectra
    from core.run.folder import RunFolder
    from core.simulate.demo import build_demo

    with tempfile.TemporaryDirectory() as tmp:
        ds = load_dataset(build_demo(Path(tmp) / "ds", seed=seed, n=n, progress=False))
        model = RunFolder(run).load_model()
        return encode_spectra(model, ds.spectra, ds.background, ds.weights)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=Path("runs/demo"))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--scale", type=int, default=0, help="also map this many latents (time and peak memory)")
    ap.add_argument("--landmarks", type=int, default=20_000)
    ap.add_argument("--skip-umap", action="store_true", help="skip umap-learn's defaults on all latents")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (a shared machine measures slower)")
    t0 = time.perf_counter()
    z = encoded_latents(args.run, args.n, args.seed)
    print(f"encoded {len(z):,} simulated spectra in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    ours = MapProjector(seed=0, n_landmarks=args.landmarks).fit(z)
    t_ours = time.perf_counter() - t0
    tw_ours = map_trustworthiness(z, ours.maps_["umap"])
    print(f"MapProjector ({args.landmarks:,} landmarks): {t_ours:.1f} s, trustworthiness {tw_ours:.4f}")
    if not args.skip_umap:
        import umap

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = umap.UMAP(random_state=0).fit_transform(z)
        t_ref = time.perf_counter() - t0
        tw_ref = map_trustworthiness(z, ref)
        print(f"umap-learn defaults (all {len(z):,}): {t_ref:.1f} s, trustworthiness {tw_ref:.4f}")
        print(f"speed-up {t_ref / t_ours:.2f}x; trustworthiness difference {tw_ours - tw_ref:+.4f}")
    print(f"peak memory so far {peak_gb():.2f} GB")

    if args.scale:
        rng = np.random.default_rng(0)
        reps = -(-args.scale // len(z))
        big = np.tile(z, (reps, 1))[:args.scale]
        big += rng.normal(0, 0.01, big.shape).astype(np.float32) * z.std(axis=0)
        t0 = time.perf_counter()
        p = MapProjector(seed=0, n_landmarks=args.landmarks, progress=True).fit(big)
        dt = time.perf_counter() - t0
        print(f"{len(big):,} latents mapped in {dt:.1f} s ({dt / 60:.2f} min); "
              f"trustworthiness {map_trustworthiness(big, p.maps_['umap']):.4f}; peak memory {peak_gb():.2f} GB")


if __name__ == "__main__":
    main()
