#!/usr/bin/env python3
"""Summarises bench/ftps.sh's results.jsonl (one or several runs) as a Markdown table: medians
(min–max) per server.

A transfer whose server CPU reads under 0.1 s left no trace in the sampled process tree (seen
with vsftpd's STOR: its session processes were gone before procmon read them; moving 1 GiB
through TLS costs more than a second): it counts for MB/s, not for CPU s/GiB.

    python3 bench/ftps-summary.py $PERF/ftps/run-*/results.jsonl
"""
import json
import statistics
import sys

SERVERS = ["ftplab", "vsftpd", "pyftpdlib", "ftplab-clear", "vsftpd-anon"]


def cell(vals, nd):
    if not vals:
        return "–"
    f = lambda v: f"{v:,.{nd}f}"
    if len(vals) == 1:
        return f(vals[0])
    return f"{f(statistics.median(vals))} ({f(min(vals))}–{f(max(vals))})"


def med(vals):
    return statistics.median(vals) if vals else None


def main():
    rows = [json.loads(line) for path in sys.argv[1:] for line in open(path) if line.strip()]
    figures = []  # (work, {server: [values]}, decimals, with a ratio)

    for test, name in (("retr", "RETR 1 GiB → curl"), ("stor", "STOR 1 GiB ← curl")):
        rs = [r for r in rows if r["test"] == test]
        if not rs:
            continue
        mbps = {s: [r["mbps"] for r in rs if r["server"] == s and r["ok"]] for s in SERVERS}
        cpu = {s: [r["mon"]["cpu_s"] / (r["bytes"] / 2**30) for r in rs
                   if r["server"] == s and r["ok"] and r["mon"].get("cpu_s", 0) >= 0.1] for s in SERVERS}
        figures.append((f"{name}, MB/s", mbps, 0, True))
        figures.append((f"{name}: server CPU s/GiB", cpu, 2, True))
        bad = {s: sum(1 for r in rs if r["server"] == s and not r["ok"]) for s in SERVERS}
        if any(bad.values()):
            figures.append((f"{name}: failed runs", {s: [bad[s]] for s in SERVERS}, 0, False))

    rs = [r for r in rows if r["test"] == "conc"]
    if rs:
        conc = rs[0]["load"].get("conc", "?")
        g = lambda s, k: [r["load"][k] for r in rs if r["server"] == s and r["load"].get(k) is not None]
        figures.append((f"{conc} TLS sessions: sessions/s", {s: g(s, "sessions_per_s_window") for s in SERVERS}, 0, True))
        figures.append((f"{conc} TLS sessions: server CPU ms/session",
                        {s: [r["mon"]["cpu_s"] * 1000 / r["load"]["ok"] for r in rs
                             if r["server"] == s and r["load"].get("ok") and r["mon"].get("cpu_s") is not None]
                         for s in SERVERS}, 2, True))
        figures.append((f"{conc} TLS sessions: client CPU ms/session",
                        {s: [r["load"]["client_cpu_s"] * 1000 / r["load"]["ok"] for r in rs
                             if r["server"] == s and r["load"].get("ok")] for s in SERVERS}, 2, False))
        figures.append((f"{conc} TLS sessions: p99 ms", {s: g(s, "lat_ms_p99") for s in SERVERS}, 0, True))
        figures.append((f"{conc} TLS sessions: errors (all runs)", {s: [sum(g(s, "errors"))] if g(s, "errors") else [] for s in SERVERS}, 0, False))
        figures.append((f"{conc} TLS sessions: sessions (all runs)", {s: [sum(g(s, "ok"))] if g(s, "ok") else [] for s in SERVERS}, 0, False))
        figures.append((f"{conc} TLS sessions: data connections resumed", {
            s: [sum(g(s, "data_resumed"))] if s != "ftplab-clear" and g(s, "data_resumed") else [] for s in SERVERS}, 0, False))

    print("| work | ftplab | vsftpd | pyftpdlib | ratio ftplab ÷ vsftpd, ÷ pyftpdlib | ftplab in clear | vsftpd anonymous |")
    print("|---|---|---|---|---|---|---|")
    for work, vals, nd, with_ratio in figures:
        a, b, c = med(vals["ftplab"]), med(vals["vsftpd"]), med(vals["pyftpdlib"])
        ratio = " / ".join(f"{a / x:.2f}×" if a is not None and x else "–" for x in (b, c)) if with_ratio else ""
        print(f"| {work} | {cell(vals['ftplab'], nd)} | {cell(vals['vsftpd'], nd)} | "
              f"{cell(vals['pyftpdlib'], nd)} | {ratio} | {cell(vals['ftplab-clear'], nd)} | "
              f"{cell(vals['vsftpd-anon'], nd)} |")
    loads = [r["load1"] for r in rows]
    print(f"\n1-minute load average at the start of each measurement: median {med(loads):.2f} "
          f"({min(loads):.2f}–{max(loads):.2f}, n={len(loads)}) on 2 cores.")
    ciphers = {r["server"]: r["load"].get("cipher") for r in rs if r["load"].get("cipher")}
    for s, c in ciphers.items():
        print(f"- {s}: data connections negotiated {c[1]} {c[0]} (ftps-load.py, Python ssl)")


if __name__ == "__main__":
    main()
