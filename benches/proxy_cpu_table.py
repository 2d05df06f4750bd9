#!/usr/bin/env python3
"""The table of benches/proxy_cpu.sh (README, "Benchmarks") from its rounds.tsv.

    python3 benches/proxy_cpu_table.py ROUNDS_TSV OUT_DIR [NGINX_VERSION HAPROXY_VERSION]
    python3 benches/proxy_cpu_table.py --strace STRACE_TSV

TOKENS (environment) names the token count in the labels. Prints the markdown table (also OUT_DIR/table.md), writes OUT_DIR/summary.tsv, then the goal
checks. Ratios are taken round by round: each round measures every proxy side by side, so the
machine's load drifts less within a round than across rounds. With --strace: the syscalls per
request of each proxy, one column each.
"""
import csv
import os
import statistics
import sys
from pathlib import Path

CORE = ["nginx", "haproxy", "idlegate", "idlegate-identity"]
# With EVIDENCE_OFF=1: the plain config with live evidence off; BASE_BIN: another idlegate
# build, plain config; FLOOR=1: the byte relay that shows the kernel's share.
ORDER = CORE + ["idlegate-noev", "idlegate-base", "floor"]


def span(values, fmt):
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)} – {fmt.format(hi)}"


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        for key in ("requests", "errors"):
            row[key] = int(row[key])
        for key in ("req_per_s", "cpu_us_per_req", "upstream_cpu_us_per_req", "p50_ms", "p99_ms",
                    "user_us_per_req", "sys_us_per_req"):
            row[key] = float(row[key])
    return rows


def per_round(rows):
    """{round: {proxy: row}}"""
    rounds = {}
    for row in rows:
        rounds.setdefault(row["round"], {})[row["proxy"]] = row
    return rounds


def ratios(rounds, proxy, key, reference):
    """The proxy's figure over the reference's figure, one value per round."""
    out = []
    for by_proxy in rounds.values():
        if proxy in by_proxy:
            out.append(by_proxy[proxy][key] / reference(by_proxy))
    return out


def best_cpu(by_proxy):
    return min(by_proxy[p]["cpu_us_per_req"] for p in ("nginx", "haproxy") if p in by_proxy)


def table(rows, rounds, labels):
    lines = [
        "| proxy | CPU µs/request | ratio to the better of nginx/haproxy | req/s | p50 | p99 |",
        "|---|---|---|---|---|---|",
    ]
    summary = []
    for proxy in ORDER:
        mine = [r for r in rows if r["proxy"] == proxy]
        if not mine:
            continue
        cpu_ratio = ratios(rounds, proxy, "cpu_us_per_req", best_cpu)
        cells = [
            labels.get(proxy, proxy),
            span([r["cpu_us_per_req"] for r in mine], "{:.1f}"),
            span(cpu_ratio, "{:.2f}") + "×",
            span([r["req_per_s"] for r in mine], "{:,.0f}"),
            span([r["p50_ms"] for r in mine], "{:.2f}") + " ms",
            span([r["p99_ms"] for r in mine], "{:.2f}") + " ms",
        ]
        lines.append("| " + " | ".join(cells) + " |")
        summary.append([proxy, len(mine), statistics.median(r["cpu_us_per_req"] for r in mine),
                        statistics.median(cpu_ratio), statistics.median(r["req_per_s"] for r in mine),
                        statistics.median(r["p50_ms"] for r in mine), statistics.median(r["p99_ms"] for r in mine),
                        statistics.median(r["upstream_cpu_us_per_req"] for r in mine), sum(r["errors"] for r in mine)])
    return lines, summary


def goals(rounds):
    """The issue's goal figures, each as the median over rounds of the round's own comparison."""
    def med(proxy, key, reference):
        values = ratios(rounds, proxy, key, reference)
        return statistics.median(values) if values else float("nan")

    nginx = lambda key: lambda by_proxy: by_proxy["nginx"][key]  # noqa: E731
    checks = [
        ("idlegate CPU/request vs the better of nginx/haproxy", med("idlegate", "cpu_us_per_req", best_cpu), "<=", 0.90),
        ("idlegate req/s vs nginx", med("idlegate", "req_per_s", nginx("req_per_s")), ">=", 1.05),
        ("idlegate p99 vs nginx", med("idlegate", "p99_ms", nginx("p99_ms")), "<=", 1.00),
        ("idlegate-identity CPU/request vs idlegate",
         med("idlegate-identity", "cpu_us_per_req", lambda b: b["idlegate"]["cpu_us_per_req"]), "<=", 1.10),
    ]
    if all("idlegate-noev" in by for by in rounds.values()):
        checks.append(("idlegate (live evidence on) CPU/request vs evidence off",
                       med("idlegate", "cpu_us_per_req", lambda b: b["idlegate-noev"]["cpu_us_per_req"]),
                       "<=", 1.05))
    lines = []
    for text, value, op, bar in checks:
        met = value <= bar if op == "<=" else value >= bar
        lines.append(f"goal: {text}: {value:.2f}× (goal {op} {bar:.2f}×): {'met' if met else 'NOT met'}")
    return lines


def strace_table(path):
    """Rows of (proxy, requests, syscall, calls) as one table: syscall by proxy, per request."""
    per_request, proxies = {}, []
    with open(path, newline="") as f:
        for proxy, requests, syscall, calls in csv.reader(f, delimiter="\t"):
            if proxy not in proxies:
                proxies.append(proxy)
            per_request.setdefault(syscall, {})[proxy] = int(calls) / max(int(requests), 1)
    totals = {p: sum(v.get(p, 0.0) for v in per_request.values()) for p in proxies}
    order = sorted(per_request, key=lambda s: -max(per_request[s].values()))
    lines = ["| syscall | " + " | ".join(proxies) + " |", "|---" * (len(proxies) + 1) + "|"]
    for syscall in order + ["total"]:
        values = totals if syscall == "total" else per_request[syscall]
        if syscall != "total" and max(values.values()) < 0.001:
            continue
        lines.append(f"| {syscall} | " + " | ".join(f"{values.get(p, 0.0):.3f}" for p in proxies) + " |")
    print("\n".join(lines))


def main():
    if sys.argv[1] == "--strace":
        strace_table(sys.argv[2])
        return
    rows = load(sys.argv[1])
    out = Path(sys.argv[2])
    tokens = int(os.environ.get("TOKENS", "100000"))
    labels = {"idlegate": f"idlegate (track all, {tokens:,} tokens)",
              "idlegate-identity": f"idlegate + identity (ES256, {tokens:,} known tokens)",
              "idlegate-noev": "idlegate, live evidence off",
              "idlegate-base": "idlegate, the BASE_BIN build (same config as idlegate)",
              "floor": "floor: a byte relay, no HTTP work (examples/bench_floor.rs)"}
    if len(sys.argv) > 4:
        labels["nginx"] = f"nginx {sys.argv[3]}"
        labels["haproxy"] = f"haproxy {sys.argv[4]}"
    rounds = per_round(rows)
    lines, summary = table(rows, rounds, labels)
    (out / "table.md").write_text("\n".join(lines) + "\n")
    with open(out / "summary.tsv", "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["proxy", "rounds", "cpu_us_per_req_median", "cpu_ratio_median", "req_per_s_median",
                         "p50_ms_median", "p99_ms_median", "upstream_cpu_us_per_req_median", "errors"])
        writer.writerows([[v if isinstance(v, (int, str)) else f"{v:.3f}" for v in s] for s in summary])
    print("\n".join(lines))
    print()
    print("upstream CPU µs/request (median) while serving: "
          + ", ".join(f"{s[0]} {s[7]:.1f}" for s in summary))
    print("proxy CPU µs/request split (median user + system): " + ", ".join(
        f"{p} {statistics.median(r['user_us_per_req'] for r in rows if r['proxy'] == p):.1f}"
        f" + {statistics.median(r['sys_us_per_req'] for r in rows if r['proxy'] == p):.1f}"
        for p in ORDER if any(r["proxy"] == p for r in rows)))
    errors = sum(s[8] for s in summary)
    if errors:
        print(f"WARNING: {errors} non-2xx answers or socket errors (see rounds.tsv)")
    if all(p in by for by in rounds.values() for p in CORE):
        print("\n".join(goals(rounds)))


if __name__ == "__main__":
    main()
