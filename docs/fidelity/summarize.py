"""Tables for docs/fidelity.md from docs/fidelity/results.jsonl (written by trials.py).

  python docs/fidelity/summarize.py
Prints one Markdown row per setting: trials, solved, stall (onset) mean/min/max, ST3 mean/min/max,
test wrong under both rules, and the paper's mean for that T.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from statistics import mean

PAPER = {100: 74_000, 500: 209_000, 1000: 853_000}


def fmt(values):
    if not values:
        return "-"
    return f"{mean(values) / 1e3:,.0f}k ({min(values) / 1e3:,.0f}–{max(values) / 1e3:,.0f}k)"


def main():
    rows = defaultdict(list)
    for line in Path(__file__).with_name("results.jsonl").read_text().splitlines():
        r = json.loads(line)
        rows[r["name"]].append(r)
    print("| setting | overrides | trials | solved | stall (onset) mean (range) | ST3 mean (range) "
          "| paper mean | ratio | wrong abs / squared (mean) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rs in rows.items():
        over = {k: v for k, v in rs[0]["overrides"].items() if k not in ("max_sequences",)}
        T = int(over.get("T", 100))
        solved = [r["solved_at"] for r in rs if r["solved_at"]]
        onsets = [r["onset"] for r in rs if r["onset"]]
        stalled = sum(1 for r in rs if not r["onset"])
        onset_text = fmt(onsets) + (f", {stalled} still stalled at {rs[0]['sequences']/1e6:.1f}M"
                                    if stalled else "")
        ratio = f"{mean(solved) / PAPER[T]:.1f}" if solved and len(solved) == len(rs) else "-"
        wrong = (f"{mean(r['test_wrong_abs'] for r in rs):.1f} / "
                 f"{mean(r['test_wrong_squared'] for r in rs):.1f}")
        over_text = " ".join(f"{k}={v}" for k, v in over.items())
        print(f"| {name} | {over_text} | {len(rs)} | {len(solved)}/{len(rs)} | {onset_text} | "
              f"{fmt(solved)} | {PAPER[T] / 1e3:,.0f}k | {ratio} | {wrong} |")


if __name__ == "__main__":
    main()
