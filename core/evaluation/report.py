"""The plain-text table ``python -m core evaluate`` prints from a metrics.json dict (core.run.evaluate)."""
from __future__ import annotations

import math
from typing import Any

from core.evaluation import features as feature_sets
from core.evaluation.correlation import table_level
from core.spectra.hardness import HARDNESS_COLUMNS

PROTOCOL_LABELS = {"supervised": "random forest", "logistic": "logistic reg.", "kmeans": "k-means (paper)",
                   "kmeans_hungarian": "k-means Hungarian", "kmeans_2k": "k-means k=2x", "kmeans_4k": "k-means k=4x"}
W = 20
CLASSIFIER_SHORT = {"random_forest": "RF", "logistic": "LR"}
FEATURE_MEANINGS = {  # core/evaluation/features.py
    "latent": "the run's latent numbers", "hardness": "ratios from the same counts the autoencoder sees",
    "pca8": "PCA-8 of the net spectra", "hardness_catalog": "the catalog's own ratios (a reference: no Poisson "
    "noise, from the real observation)", "hardness_dataset": "the dataset's hard_* columns (a reference: "
    "area-corrected)", "oracle": "the true model family + hardness (a reference: simulation only)"}


def interval(r: dict[str, Any]) -> str:
    """'0.306 [0.281, 0.331]' (corrected 95% interval) or '0.306' without one."""
    ci = r.get("ci95")  # a t-interval: clipped to [0, 1], where balanced accuracy lives
    return f"{r['balanced_accuracy']:.3f}" + (f" [{max(ci[0], 0.0):.3f},{min(ci[1], 1.0):.3f}]" if ci else "")


def difference(name: str, d: dict[str, Any]) -> str:
    verdict = "significant" if d["significant"] else "not significant (interval covers 0)"
    return f"  {name:<24}{d['mean']:+.3f}  95% [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]  {verdict}"


def _classification(m: dict[str, Any], feats: list[str]) -> list[str]:
    lines = ["", f"balanced accuracy ({m['classification_rows']} labelled rows; supervised: mean over repeated "
                 f"folds with the corrected 95% interval)",
             f"{'task':<16}{'protocol':<20}" + "".join(f" {f:>{W - 1}}" for f in feats)]
    for task, res in m["classification"].items():
        if "n" in res and res.get("classes"):
            k = len(res["classes"])
            lines.append(f"{task}: {res['n']} labelled rows in {k} classes (chance {1 / k:.3f})"
                         + ("; too few rows for 5 folds in some class, so fewer folds"
                            if res["n_folds"] // max(res["n_repeats"], 1) < 5 else ""))
        for proto in ("supervised", "logistic", "kmeans", "kmeans_hungarian", "kmeans_2k", "kmeans_4k"):
            src = res["supervised"] if proto == "logistic" else res.get(proto, {})
            cells = []
            for f in feats:
                r = src.get(f)
                if r is not None and proto == "logistic":
                    r = r.get("logistic")
                cells.append("-" if r is None else interval(r))
            lines.append(f"{task:<16}{PROTOCOL_LABELS[proto]:<20}" + "".join(f" {c:>{W - 1}}" for c in cells))
        lines.append(f"  paired differences, {res['n_repeats']}x{res['n_folds'] // max(res['n_repeats'], 1)} "
                     f"folds (Nadeau-Bengio corrected):")
        for clf, diffs in res.get("paired_differences", {}).items():
            lines += [difference(f"{CLASSIFIER_SHORT[clf]} {k}", d) for k, d in diffs.items()]
        for key in ("kmeans_note", "kmeans_skipped"):
            if res.get(key):
                lines.append(f"  note: {res[key]}")
    lines.append("  features: " + "; ".join(f"{f} = {FEATURE_MEANINGS[f]}" for f in feats if f in FEATURE_MEANINGS))
    return lines


def _instrument(ins: dict[str, Any]) -> list[str]:
    if not ins:
        return []
    lines = ["", f"instrument leakage: balanced accuracy of predicting the {ins['column']} from the features "
                 f"({ins['n']} spectra, {len(ins['responses'])} responses, chance {ins['chance']:.3f})",
             "".join(f"{f:>{W}}" for f in ins["by_features"]),
             "".join(f"{interval(r):>{W}}" for r in ins["by_features"].values())]
    lines += [difference(k, d) for k, d in ins.get("paired_differences", {}).items()]
    return lines


def format_table(m: dict[str, Any]) -> str:
    """The headline numbers as a plain-text table."""
    lines = [f"{m['split']} rows: {m['n_test']} spectra" + (" (SIMULATED)" if m.get("simulated") else ""), "",
             f"{'reconstruction':<14} {'deviance/bin':>13} {'if exact':>9} {'KL to truth':>12}"]
    seen = m.get("sources_seen_in_training")
    if seen and not seen["checked"]:
        lines.insert(1, f"note: every row scored; whether some are sources the run trained on was not checked: "
                        f"{seen['reason']}")
    elif seen and seen["n"]:
        lines.insert(1, f"left out: {seen['n']} rows of sources in the run's training or validation split (by name, "
                        f"e.g. {', '.join(seen['names'][:3])}): new noise on a source seen in training would flatter "
                        f"it")
    for name, r in m["reconstruction"].items():
        kl = f"{r['kl_to_truth']:.4f}" if "kl_to_truth" in r else "-"
        exact = f"{r['deviance_per_bin_if_exact']:.4f}" if "deviance_per_bin_if_exact" in r else "-"
        lines.append(f"{name:<14} {r['deviance_per_bin']:>13.4f} {exact:>9} {kl:>12}")
    piled = (m.get("possible_pileup") or {}).get("ids") or []
    if piled:
        rest = m["possible_pileup"]["deviance_per_bin_of_the_others"]
        lines.append(f"note: {len(piled)} spectra carry ingest's 'possible pile-up' warning "
                     f"({', '.join(piled[:5])}{', ...' if len(piled) > 5 else ''}): a plain response fold cannot "
                     f"reproduce piled-up counts"
                     + (f"; the autoencoder's deviance per bin of the other {m['n_test'] - len(piled)}: {rest:.4f}"
                        if rest is not None else "")
                     + (f" (if exact: {m['possible_pileup']['deviance_per_bin_of_the_others_if_exact']:.4f})"
                        if m["possible_pileup"].get("deviance_per_bin_of_the_others_if_exact") is not None else ""))
    if any("deviance_per_bin_if_exact" in r for r in m["reconstruction"].values()):
        lines.append("('if exact': the deviance per bin each model would score on average were the counts drawn from "
                     "its own prediction; faint spectra sit well below 1 even then)")
    p8 = m["reconstruction"].get("pca8", {})
    if "floor_choice" in p8:
        lines.append(f"PCA-8 floors chosen on the validation split: {p8['floor']:g} for the KL, "
                     f"{p8['deviance_floor']:g} for the deviance")
    present = set().union(*(res["supervised"] for res in m["classification"].values())) if m["classification"] else set()
    feats = [f for f in feature_sets.COMPARED + feature_sets.REFERENCES if f in present]
    if m["classification"]:
        lines += _classification(m, feats)
    lines += _instrument(m.get("instrument") or {})
    if m["regression"]:
        names = list(next(iter(m["regression"].values())))
        lines += ["", "R² (cross-validated, mean ± std over repeats)",
                  f"{'target':<10}" + "".join(f"{n:>{W}}" for n in names)]
        for t, r in m["regression"].items():
            lines.append(f"{t:<10}" + "".join(f"{r[n]['r2']:>13.3f} {_spread(r[n])}" for n in names if n in r))
    if m.get("spearman"):
        lines += _spearman(m)
    return "\n".join(lines)


def _spearman(m: dict[str, Any]) -> list[str]:
    """Rank correlations of the latent axes with the hardness ratios, each with its 95% interval when
    metrics.json has them (``spearman_ci95``; files written before it have the correlations alone)."""
    mi_cols = list(m.get("mutual_information", {}))
    ci, pairs = m.get("spearman_ci95") or {}, m.get("spearman_n") or {}
    w = 22 if ci else 9
    title = f"Spearman of latent axes with hardness ratios ({m['split']}"
    if len(set(pairs.values())) == 1:
        title += f", n = {next(iter(pairs.values()))}"
    elif pairs:
        title += ", " + ", ".join(f"{h} n = {pairs[h]}" for h in HARDNESS_COLUMNS if h in pairs)
    lines = ["", title + ("; 95% intervals: Fisher z, Bonett-Wright variance)" if ci else ")"),
             f"{'axis':<6}" + "".join(f"{h:>{w}}" for h in HARDNESS_COLUMNS) + "".join(f"{'MI ' + c:>12}"
                                                                                for c in mi_cols)]
    for axis, row in m["spearman"].items():
        mi = "".join(f"{m['mutual_information'][c][axis]:>12.3f}" for c in mi_cols)
        cells = []
        for h in HARDNESS_COLUMNS:
            lo, hi = (ci.get(axis) or {}).get(h) or (float("nan"), float("nan"))
            cell = (f"{_signed(row[h])} [{_signed(lo)}, {_signed(hi)}]" if math.isfinite(lo) and math.isfinite(hi)
                    else f"{row[h]:.3f}")
            cells.append(f"{cell:>{w}}")
        lines.append(f"{axis:<6}" + "".join(cells) + mi)
    if ci:
        cells = sum(len(row) for row in m["spearman"].values())
        lines.append(f"  each interval holds for its own cell: of {cells} cells, about one in 20 excludes 0 by chance "
                     f"alone; the help page reads them all at once (at {100 * table_level(cells):.1f}% each)")
    return lines


def _spread(r: dict[str, Any]) -> str:
    """"±std" over the repeats, or what stands in its place with a single repeat (no spread to show)."""
    return f"±{r['r2_std']:.3f}" if len(r.get("r2_repeats", [])) != 1 else "(1 rep)"


def _signed(x: float) -> str:
    """x to two decimals with its sign, never "-0.00"."""
    text = f"{x:+.2f}"
    return "+0.00" if text == "-0.00" else text
