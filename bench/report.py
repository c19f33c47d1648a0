#!/usr/bin/env python3
"""Turn bench/run's raw records into the comparison table (stdout) and results.json.

Usage: report.py META_JSON RUNS_JSONL RESULTS_JSON

Per (server, scenario, run) it keeps the last quiet attempt (or, if every attempt was noisy, the
least noisy one, flagged), then takes the median over runs. ratio = tocsin / Alertmanager, in the
figure's own unit; the target says which way is better.
"""
import json
import statistics
import sys

# (key, scenario, field, label, unit, target kind, target value, target text)
#   kind "ratio_ge": tocsin/AM >= v; "ratio_le": tocsin/AM <= v; "abs_le": tocsin <= v (unit).
FIGURES = [
    ("ingest_200", "ingest-200", "alerts_per_s", "ingest, 100k alerts / 200 groups", "alerts/s", "ratio_ge", 5, ">= 5x AM"),
    ("ingest_100k", "ingest-100k", "alerts_per_s", "ingest, 100k alerts / 100k groups", "alerts/s", "ratio_ge", 5, ">= 5x AM"),
    ("rss_200", "ingest-200", "rss_mib", "RSS, 100k active alerts / 200 groups", "MiB", "ratio_le", 0.2, "<= 1/5 AM"),
    ("rss_100k", "ingest-100k", "rss_mib", "RSS, 100k active alerts / 100k groups", "MiB", "ratio_le", 0.2, "<= 1/5 AM"),
    ("get_200", "ingest-200", "get_s", "GET /api/v2/alerts, 100k alerts (200 groups)", "s", "ratio_le", 0.2, ">= 5x faster"),
    ("get_100k", "ingest-100k", "get_s", "GET /api/v2/alerts, 100k alerts (100k groups)", "s", "ratio_le", 0.2, ">= 5x faster"),
    ("latency_idle_p99", "latency-idle", "p99_ms", "POST->webhook p99, idle", "ms", "abs_le", 1.0, "<= 1 ms"),
    ("latency_load_p99", "latency-load", "p99_ms", "POST->webhook p99, ingest saturated (8 conns)", "ms", "abs_le", 5.0, "<= 5 ms"),
    ("cpu_200", "ingest-200", "cpu_ms_per_1k", "CPU per 1,000 alerts ingested (200 groups)", "ms", "ratio_le", 0.2, "<= 1/5 AM"),
    ("cpu_100k", "ingest-100k", "cpu_ms_per_1k", "CPU per 1,000 alerts ingested (100k groups)", "ms", "ratio_le", 0.2, "<= 1/5 AM"),
    ("get_silences", "silences-10k", "get_s", "GET /api/v2/silences, 10k silences", "s", "ratio_le", 0.2, ">= 5x faster"),
]
# Each server against itself: (key, scenario, baseline scenario, field, label, minimum for tocsin).
SELF = [
    ("ingest_mute", "ingest-200mute", "ingest-200", "alerts_per_s",
     "ingest with 1,000 silences + 10 inhibit rules / without (200 groups)", 0.8),
]
# Shown for context, no target.
EXTRA = [
    ("latency_idle_p50", "latency-idle", "p50_ms", "POST->webhook p50, idle", "ms"),
    ("latency_load_p50", "latency-load", "p50_ms", "POST->webhook p50, ingest saturated", "ms"),
    ("ack_idle_p99", "latency-idle", "ack_p99_ms", "probe POST answered, p99, idle", "ms"),
    ("ack_load_p99", "latency-load", "ack_p99_ms", "probe POST answered, p99, ingest saturated", "ms"),
    ("load_rate", "latency-load", "load_alerts_per_s", "ingest rate during the loaded latency run", "alerts/s"),
    ("post_p99_200", "ingest-200", "post_p99_ms", "POST (256 alerts) p99 during ingest, 200 groups", "ms"),
    ("post_p99_100k", "ingest-100k", "post_p99_ms", "POST (256 alerts) p99 during ingest, 100k groups", "ms"),
    ("gen_util_200", "ingest-200", "generator_core_util", "load generator core use during ingest, 200 groups", "cores"),
    ("gen_util_100k", "ingest-100k", "generator_core_util", "load generator core use during ingest, 100k groups", "cores"),
    ("ingest_mute_rate", "ingest-200mute", "alerts_per_s", "ingest with 1,000 silences + 10 inhibit rules, 200 groups", "alerts/s"),
    ("silence_posts", "silences-10k", "posts_per_s", "POST /api/v2/silences, one connection", "req/s"),
    ("rss_silences", "silences-10k", "rss_mib", "RSS with 10k silences (no alerts)", "MiB"),
]


def pick(records):
    """records: attempts of one (server, scenario, run) -> (record, noisy?)."""
    quiet = [r for r in records if not r["noisy"]]
    if quiet:
        return quiet[-1], False
    return min(records, key=lambda r: r["other_cores"]), True


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "alerts/s":
        return f"{v:,.0f}"
    if unit == "MiB":
        return f"{v:,.1f}"
    if unit == "cores":
        return f"{v:.2f}"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if v < 1 else f"{v:.2f}"


def main():
    meta = json.load(open(sys.argv[1]))
    recs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    by = {}
    for r in recs:
        by.setdefault((r["server"], r["scenario"], r["run"]), []).append(r)
    chosen = {}  # (server, scenario) -> [(record, noisy)]
    for (srv, scen, _run), rs in sorted(by.items(), key=lambda kv: str(kv[0])):
        chosen.setdefault((srv, scen), []).append(pick(rs))

    def value(srv, scen, field):
        got = chosen.get((srv, scen), [])
        vals = [r[field] for r, _ in got if r.get(field) is not None]
        noisy = any(n for _, n in got)
        return (statistics.median(vals) if vals else None), vals, noisy

    results = {"meta": meta, "figures": {}, "extra": {}, "warnings": []}
    rows = []
    for key, scen, field, label, unit, kind, tv, ttext in FIGURES:
        am, am_vals, am_noisy = value("alertmanager", scen, field)
        to, to_vals, to_noisy = value("tocsin", scen, field)
        ratio = (to / am) if (am and to is not None) else None
        met = None
        if kind == "ratio_ge" and ratio is not None:
            met = ratio >= tv
        elif kind == "ratio_le" and ratio is not None:
            met = ratio <= tv
        elif kind == "abs_le" and to is not None:
            met = to <= tv
        results["figures"][key] = {
            "label": label, "unit": unit, "alertmanager": am, "tocsin": to, "ratio_tocsin_over_am": ratio,
            "target": ttext, "met": met, "alertmanager_runs": am_vals, "tocsin_runs": to_vals,
            "alertmanager_noisy": am_noisy, "tocsin_noisy": to_noisy,
        }
        rows.append((f"{label} ({unit})", fmt(am, unit) + ("*" if am_noisy else ""),
                     fmt(to, unit) + ("*" if to_noisy else ""),
                     "n/a" if ratio is None else f"{ratio:.3g}", ttext,
                     {True: "yes", False: "NO", None: "-"}[met]))
    for key, scen, base, field, label, minimum in SELF:
        fr = {}
        for srv in ("alertmanager", "tocsin"):
            v, _, n1 = value(srv, scen, field)
            b, _, n2 = value(srv, base, field)
            fr[srv] = ((v / b) if (v is not None and b) else None, n1 or n2)
        to = fr["tocsin"][0]
        met = None if to is None else to >= minimum
        results["figures"][key] = {"label": label, "unit": "x", "alertmanager": fr["alertmanager"][0],
                                   "tocsin": to, "target": f"tocsin >= {minimum}", "met": met}
        rows.append((f"{label} (x)", fmt(fr["alertmanager"][0], "x") + ("*" if fr["alertmanager"][1] else ""),
                     fmt(to, "x") + ("*" if fr["tocsin"][1] else ""), "", f">= {minimum}",
                     {True: "yes", False: "NO", None: "-"}[met]))
    extra_rows = []
    for key, scen, field, label, unit in EXTRA:
        am, am_vals, _ = value("alertmanager", scen, field)
        to, to_vals, _ = value("tocsin", scen, field)
        results["extra"][key] = {"label": label, "unit": unit, "alertmanager": am, "tocsin": to,
                                 "alertmanager_runs": am_vals, "tocsin_runs": to_vals}
        extra_rows.append((f"{label} ({unit})", fmt(am, unit), fmt(to, unit), "", "", ""))

    # Sanity: errors and incomplete data.
    for r in recs:
        tag = f'{r["server"]} {r["scenario"]} run {r["run"]} attempt {r["attempt"]}'
        if r.get("non2xx"):
            results["warnings"].append(f"{tag}: {r['non2xx']} non-2xx POST responses")
        if r.get("socket_errors") or r.get("timeouts"):
            results["warnings"].append(f"{tag}: {r.get('socket_errors')} socket errors, {r.get('timeouts')} timeouts")
        if r["scenario"].startswith("ingest") and r.get("get_alerts") != meta["alerts"]:
            results["warnings"].append(f"{tag}: GET returned {r.get('get_alerts')} alerts (status {r.get('get_status')}), expected {meta['alerts']}")
        if r.get("lost"):
            results["warnings"].append(f"{tag}: {r['lost']} of {r['probes']} probes never reached the sink")
        if r.get("post_non2xx") or r.get("load_non2xx"):
            results["warnings"].append(f"{tag}: non-2xx POSTs (probe {r.get('post_non2xx')}, load {r.get('load_non2xx')})")
        if (r.get("generator_core_util") or 0) > 0.8:
            results["warnings"].append(f"{tag}: load generator used {r['generator_core_util']:.2f} of its core: it may be the bottleneck")
    results["records"] = recs
    json.dump(results, open(sys.argv[3], "w"), indent=1)

    m = meta
    print(f"tocsin vs Alertmanager  {m['date']}  nproc={m['nproc']}  cpu={m['cpu_model']}  kernel={m['kernel']}  mem={m['mem_gib']} GiB")
    print(f"{'quick' if m['quick'] else 'full'} mode: median of {m['runs']} run(s); {m['alerts']:,} alerts in {m['bodies']} POSTs of {m['batch']}, "
          f"{m['passes']} pass(es) over them per ingest run; {m['probes']} latency probes per run; server on core 0, load on core 1")
    who = []
    if m.get("alertmanager_version"):
        who.append(f"Alertmanager: {m['alertmanager_version']} ({m['alertmanager_bin']})")
    if m.get("tocsin_bin"):
        who.append(f"tocsin: {m['tocsin_bin']} at {m.get('tocsin_commit')}")
    print("   ".join(who))
    print(f"load generator ceiling (no-op server): {m['generator_ceiling_alerts_per_s']:,} alerts/s at {m['generator_ceiling_core_util']:.2f} of its core; "
          f"latency harness floor: p50 {m['harness_latency_p50_ms']} ms, p99 {m['harness_latency_p99_ms']} ms")
    print()
    head = ("figure", "Alertmanager", "tocsin", "ratio t/AM", "target", "met")
    allrows = [head] + rows + [("", "", "", "", "", "")] + [("context:", "", "", "", "", "")] + extra_rows
    w = [max(len(r[i]) for r in allrows) for i in range(6)]
    for i, r in enumerate(allrows):
        print("  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) if j < 4 else c.ljust(w[j]) for j, c in enumerate(r)).rstrip())
        if i == 0:
            print("  ".join("-" * x for x in w))
    print()
    print("* = every attempt of at least one run had other processes using the machine (see results.json).")
    for wmsg in results["warnings"]:
        print("warning:", wmsg)
    print(f"results: {sys.argv[3]}")


if __name__ == "__main__":
    main()
