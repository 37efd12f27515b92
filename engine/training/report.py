"""The evaluation's reports: the bar lines, the QUALITY.md table and the preview grid."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from engine.media.imageio import save_image_rgb

CONTENT_ROW, STYLE_ROW = "content image", "style image"



def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{digits}f}" if abs(v) >= 0.01 or v == 0 else f"{v:.2e}"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def bar_lines(bars: list[dict]) -> list[str]:
    """One line per decoder: both bars with value, threshold, pair count and PASS/FAIL."""
    lines = []
    for b in bars:
        st, sr = b["style"], b["structure"]
        ref = sr["reference"] or "the optimisation baseline"
        lines.append(f"{b['method']}: style ÷ content image = {_fmt(st['value'])} (bar {st['bar']}, "
                     f"{st['pairs']} pairs) {_verdict(st['pass'])}; structure ÷ {ref} = "
                     f"{_fmt(sr['value'])} (bar {sr['bar']}, {sr.get('pairs', 0)} pairs) "
                     f"{_verdict(sr['pass'])}")
    return lines


def lite_bar_lines(bars: list[dict]) -> list[str]:
    """One line per Real-time method: issue #28's checks (``evaluate_lite.lite_bars``)."""
    return [f"{b['method']} (issue #28 bars): " + "; ".join(
        f"{c['what']} = {_fmt(c['value'])} (bar {c['bar']}) {_verdict(c['pass'])}" for c in b["checks"])
        for b in bars]


def markdown_report(result: dict) -> str:
    """The text for docs/QUALITY.md: command, settings, summary table, bars, per-pair table."""
    st = result["settings"]
    ref = st["structure_reference"] or "L-BFGS"
    decoders = "; ".join(f"`{d['path'] if not Path(d['path']).is_absolute() else Path(d['path']).name}` "
                         f"(sha1 {d['sha1'][:10]}, {d['steps'] or '?'} steps)" for d in result["decoders"])
    lines = [f"Command: `{result['command']}`", "",
             f"Decoder: {decoders}. Held-out split `{result['split']['path']}` "
             f"({result['split']['content']} content, {result['split']['style']} style images); "
             f"{len(result['pairs'])} pairs (seed {st['seed']}); {st['preprocess']}; α = {st['alpha']:g}; "
             f"λ = {st['style_weight']:g}; {st['device']}, {st['threads']} threads, torch {st['torch']}; "
             f"run took {result['wall_seconds'] / 60:.1f} min.", "",
             f"| method | pairs | content loss | style loss | structure | style ÷ content image "
             f"(geo-mean) | texture ÷ content image (geo-mean) | structure ÷ {ref} (geo-mean, pairs) | s / pair |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in result["summary"].items():
        sr_txt = f"{_fmt(s['structure_ratio_gmean'])} ({s['structure_ratio_pairs']})" \
            if s.get("structure_ratio_pairs") else "–"
        secs = f"{s['seconds_mean']:.1f}" if s["seconds_mean"] > 0 else "–"
        lines.append(f"| {name} | {s['pairs']} | {_fmt(s['content_loss_mean'])} | "
                     f"{_fmt(s['style_loss_mean'])} | {_fmt(s['structure_mean'])} | "
                     f"{_fmt(s['style_ratio_gmean'])} | {_fmt(s.get('texture_ratio_gmean', float('nan')))} | "
                     f"{sr_txt} | {secs} |")
    lines += ["", "Losses and structure: arithmetic means over each row's pairs (rows with fewer "
              "pairs are not directly comparable); ratios: per pair, then the geometric mean over the "
              "pairs that have both (0 when a pair's ratio is ≤ 0). s / pair: stylization (encode content and style, AdaIN, decode) "
              "or optimisation time; a cached baseline keeps the time of the run that made it.", ""]
    lines += [f"- {line}" for line in bar_lines(result["bars"])]
    if result.get("lite_bars"):
        lines += [f"- {line}" for line in lite_bar_lines(result["lite_bars"])]
    lines += ["", *per_pair_table(result)]
    return "\n".join(lines) + "\n"


def per_pair_table(result: dict) -> list[str]:
    """Pairs that have an optimisation baseline: every method except the reference images."""
    ref = result["settings"]["structure_reference"]
    pairs = [p for p in result["pairs"] if ref and ref in p["methods"]]
    if not pairs:
        return []
    lines = [f"Pairs with the optimisation baseline (style ratio ÷ content image; structure ratio ÷ {ref}):",
             "", "| pair | method | content loss | style loss (ratio) | structure (ratio) |",
             "|---|---|---:|---:|---:|"]
    for p in pairs:
        m = p["methods"]
        for name, v in m.items():
            if name in (CONTENT_ROW, STYLE_ROW):
                continue
            style_r = v["style_loss"] / m[CONTENT_ROW]["style_loss"] if m[CONTENT_ROW]["style_loss"] > 0 else None
            struct_r = v["structure"] / m[ref]["structure"] if m[ref]["structure"] > 0 else None
            lines.append(f"| {p['content']} × {p['style']} | {name} | {_fmt(v['content_loss'])} | "
                         f"{_fmt(v['style_loss'])} ({_fmt(style_r)}) | {_fmt(v['structure'])} ({_fmt(struct_r)}) |")
    return lines


# --- grid -------------------------------------------------------------------------------------

GRID_LABEL_HEIGHT = 20


def save_grid(rows: list[dict[str, np.ndarray]], columns: list[str], path: Path, cell: int = 192) -> None:
    """Stylized outputs only (rows: pairs, columns: methods, named on top); a missing cell is grey."""
    import cv2

    top = GRID_LABEL_HEIGHT
    grid = np.full((top + len(rows) * cell, len(columns) * cell, 3), 128, np.uint8)
    grid[:top] = 255
    for j, name in enumerate(columns):
        cv2.putText(grid, name[:28], (j * cell + 4, top - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
        for i, row in enumerate(rows):
            if name in row:
                img = cv2.resize(row[name], (cell, cell), interpolation=cv2.INTER_AREA)
                grid[top + i * cell:top + (i + 1) * cell, j * cell:(j + 1) * cell] = img
    save_image_rgb(grid, path)
