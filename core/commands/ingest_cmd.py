"""``python -m core ingest PATH... --out DATASET``: real spectra in, a dataset folder out.

Exit status: 0 all spectra loaded, 2 some rejected (the rest are written), 1 nothing could be written.
"""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from core.spectra.energy import EnergyGrid
from core.commands.options import add_parallel_args
from core.data.ingest import default_report_path, ingest
from core.data.timed import DEFAULT_TIMEOUT_S
from core.io.companions import missing_responses


# what Ctrl-C leaves behind (core.cli prints it)
INTERRUPTED = "interrupted: nothing was written (the dataset and its report are written whole, at the end)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="PHA files (CSC pha3 or OGIP type I) or folders of them")
    parser.add_argument("--out", required=True, type=Path, help="dataset folder to write (atomically)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset folder")
    parser.add_argument("--catalog", type=Path, help="CSV/Parquet with 'name' and optional class, hard_hm/hs/ms")
    parser.add_argument("--arf", type=Path, help="ARF to use instead of the header's ANCRFILE (single spectra)")
    parser.add_argument("--rmf", type=Path, help="RMF to use instead of the header's RESPFILE (single spectra)")
    parser.add_argument("--background", type=Path, help="background PHA instead of BACKFILE (single spectra)")
    parser.add_argument("--report", type=Path, help="CSV report of every file (default: OUT_ingest_report.csv)")
    parser.add_argument("--file-timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds one file may take to read before it is rejected (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--e-min", type=float, default=0.5,
                        help="grid low edge, keV (default 0.5; snapped outward to whole ACIS channels: 0.4964)")
    parser.add_argument("--e-max", type=float, default=7.0,
                        help="grid high edge, keV (default 7.0; snapped outward likewise: 7.0372)")
    parser.add_argument("--channels-per-bin", type=int, default=4, help="ACIS channels per grid bin (default 4)")
    add_parallel_args(parser)


def run(args: argparse.Namespace) -> int:
    grid = EnergyGrid(args.e_min, args.e_max, args.channels_per_bin)
    overrides = {"arf": args.arf, "rmf": args.rmf, "background": args.background}
    report = ingest(args.paths, args.out, grid=grid, catalog=args.catalog, overrides=overrides,
                    overwrite=args.overwrite, report_path=args.report, file_timeout_s=args.file_timeout,
                    workers=args.workers, scheduler=args.scheduler)
    for path, reason in report.skipped:
        print(f"skipped   {path}: {reason}")
    for path, reason in report.rejected:
        print(f"REJECTED  {path}: {reason}")
    for path, note in report.warned.items():
        print(f"warning   {path}: {note}")
    hint = companion_hint(report.rejected, args.out, bool(report.loaded))
    if hint:
        print(hint)
    report_path = args.report or default_report_path(args.out)
    if report.loaded:
        print(f"wrote {len(report.loaded)} spectr{'um' if len(report.loaded) == 1 else 'a'} to {args.out} "
              f"({len(report.rejected)} rejected, "
              f"{len(report.skipped)} skipped); report: {report_path}")
    else:
        n = len(report.rejected)
        print(f"nothing could be written: {'the only spectrum was' if n == 1 else f'all {n} spectra were'} rejected; "
              f"report: {report_path}")
    return report.exit_status


def companion_hint(rejected: list[tuple[Path, str]], out: Path, wrote: bool) -> str:
    """What to type for spectra rejected because their ARF and/or RMF were not found: the files by name and the
    command for the first, with the options for what it lacks (--arf/--rmf take one spectrum at a time), the
    file names its header gives and its missing BACKFILE too. When this run wrote ``out``, the command writes a
    dataset of its own beside it (a dataset is written whole, never added to). Empty when there are none."""
    lacking = [(Path(p), missing) for p, r in rejected if (missing := missing_responses(r))]
    if not lacking:
        return ""
    names = ", ".join(str(p) for p, _ in lacking[:3]) + (f" and {len(lacking) - 3} more" if len(lacking) > 3 else "")
    first, missing = lacking[0]
    backfile = _missing_backfile(first)
    options = " ".join(f"--{role.lower()} DIR/{name or role}" for role, name in missing.items())
    if backfile:
        options += f" --background DIR/{backfile}"
    target = out.with_name(f"{out.name}-{first.name.split('.')[0]}") if wrote else out
    where = f" into a new dataset ({out} is written now, and datasets are not appended to)," if wrote else ""
    return (f"{names}: the response files were not found. Give them with "
            f"{'/'.join('--' + r.lower() for r in missing)}, one spectrum at a time,{where} e.g. (DIR: the folder "
            f"that holds them{'; its background is missing too' if backfile else ''})\n"
            f"  python -m core ingest {shlex.quote(str(first))} {options} --out {shlex.quote(str(target))}")


def _missing_backfile(spectrum: Path) -> str | None:
    """The BACKFILE the spectrum's header names when that file is not beside it (so the hint asks for it too)."""
    from core.data.ingest import peek_chunk

    [(_, backfile)] = peek_chunk([spectrum])
    return backfile if backfile and not (spectrum.parent / backfile).is_file() else None
