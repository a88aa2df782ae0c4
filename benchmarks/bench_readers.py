"""CPU time of the readers: each real RMF read once (uncached), and ``read_spectrum`` over a folder of spectra
as ingest's workers call it (one process, so spectra that share a response file may share one parse). Figures
are printed, not asserted; the load average is printed with them because the machine is shared.

    XLE_DATA_MIRROR=../shared/data python benchmarks/bench_readers.py [--pha DIR] [--repeat 3]

DIR is e.g. the ``--as-pha`` folder of ``python -m core build-demo --out D --n 20 --as-pha DIR``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core.data.fetch import fetch, registry  # noqa: E402
from core.io import read_spectrum  # noqa: E402
from core.io.response import read_rmf  # noqa: E402

RMFS = [n for n in sorted(registry()) if "rmf" in Path(n).name]  # every real RMF the project has


def cpu_ms(fn, repeat: int) -> float:
    """Best of ``repeat`` process-CPU times of ``fn()``, in ms (the best is the least disturbed by the others)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best * 1e3


def bench_rmfs(repeat: int) -> None:
    print("per-RMF read (read_rmf, no cache), best CPU ms:")
    total = 0.0
    for name in RMFS:
        ms = cpu_ms(lambda p=fetch(name): read_rmf(p), repeat)
        total += ms
        print(f"  {ms:8.1f}  {name}")
    print(f"  {total / len(RMFS):8.1f}  mean")


def bench_spectra(folder: Path) -> None:
    """Per-file CPU of read_spectrum; with the response cache, both cold (cleared before each file: every
    response parsed) and as ingest's worker runs it (kept: each response parsed once per process)."""
    files = sorted(p for p in folder.iterdir() if "_pha3" in p.name)
    try:
        from core.io import response_cache
    except ImportError:  # the readers before the cache
        response_cache = None
    passes = {"no cache": None} if response_cache is None else {"cache cleared before each file":
                                                               response_cache.clear, "cache kept": lambda: None}
    for label, before_each in passes.items():
        if response_cache is not None:
            response_cache.clear()
        cpu = wall = 0.0
        for f in files:
            if before_each is not None:
                before_each()
            t0, w0 = time.process_time(), time.perf_counter()
            read_spectrum(f)
            cpu, wall = cpu + time.process_time() - t0, wall + time.perf_counter() - w0
        print(f"read_spectrum over {len(files)} files of {folder} ({label}): {cpu / len(files) * 1e3:.1f} ms CPU "
              f"per file ({wall / len(files) * 1e3:.1f} ms wall)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pha", type=Path, default=None, help="folder of pha3 files with their ARF/RMF")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    bench_rmfs(args.repeat)
    if args.pha is not None:
        bench_spectra(args.pha)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
