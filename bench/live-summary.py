#!/usr/bin/env python3
"""Summarises the JSON rows of bench/live.sh into the Markdown table of BENCHMARKS.md.

    bench/live.sh > rows.jsonl; bench/live-summary.py rows.jsonl

One line per server, sniffer, rate limit and background load: runs complete, transfer rate
(median, min-max), runs with loss and the frames dropped in them, the sniffer's CPU seconds and
peak RSS (medians), and, without background load, the whole machine's CPU seconds per run.
"""
import json
import statistics
import sys


def median_range(values, fmt="{:,.0f}"):
    if not values:
        return "-"
    med = fmt.format(statistics.median(values))
    return f"{med} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main() -> None:
    groups = {}
    for path in sys.argv[1:] or ["/dev/stdin"]:
        for line in open(path):
            line = line.strip()
            if not line.startswith("{"):
                continue
            row = json.loads(line)
            key = (row.get("server", "ftplab"), row["tool"], row["limit"], row.get("load", 0))
            groups.setdefault(key, []).append(row)
    print("| server | sniffer | limit | load | complete | MB/s median (min–max) "
          "| runs with drops: frames dropped | sniffer CPU s | peak RSS MiB | machine CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (server, tool, limit, load), rows in groups.items():
        complete = sum(1 for r in rows if r["complete"])
        lossy = [r for r in rows if r["drops"] not in ("0", "", "?", "null")]
        drops = ", ".join(r["drops"] for r in lossy) or "none"
        machine = [r["machine_cpu_s"] for r in rows if "machine_cpu_s" in r]
        print(f"| {server} | {tool} | {limit} | {load} | {complete} / {len(rows)} "
              f"| {median_range([r['mbps'] for r in rows])} | {len(lossy)}: {drops} "
              f"| {statistics.median(r['cpu_s'] for r in rows):.2f} "
              f"| {statistics.median(r['peak_rss_mib'] for r in rows):.1f} "
              f"| {median_range(machine, '{:.2f}') if machine and not load else '-'} |")


if __name__ == "__main__":
    main()
