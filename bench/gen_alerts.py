#!/usr/bin/env python3
"""Pre-generate the POST bodies the benchmark cycles through.

Writes N distinct alerts (default 100,000) as JSON arrays of BATCH alerts (default 256), one
array per line, so the wrk script can read them with io.lines(). 100k / 256 = 391 bodies (the
last one shorter). Alerts look like what Prometheus sends: 8 labels, 3 annotations, startsAt a
few minutes ago, endsAt one hour ahead (so they stay active for the whole run), generatorURL.

alertname = BenchAlert%03d (ALERTNAMES distinct names, contiguous runs like a rule's output),
instance  = host-%06d:9100, distinct per alert. With group_by [alertname] that is 200 groups,
with group_by [alertname, instance] it is one group per alert.
"""
import argparse
import datetime as dt
import json


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--alerts", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--alertnames", type=int, default=200)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    now = dt.datetime.now(dt.timezone.utc)
    starts = rfc3339(now - dt.timedelta(minutes=5))
    ends = rfc3339(now + dt.timedelta(hours=1))
    per_name = -(-a.alerts // a.alertnames)  # contiguous block of alerts per alertname
    sev = ["critical", "warning", "info"]
    regions = ["eu-west-1", "us-east-1", "ap-south-1", "us-west-2"]

    def alert(i):
        n = i // per_name
        name = "BenchAlert%03d" % n
        inst = "host-%06d:9100" % i
        return {
            "labels": {
                "alertname": name,
                "env": "prod" if i % 5 else "staging",
                "instance": inst,
                "job": "node-exporter",
                "region": regions[i % len(regions)],
                "service": "svc-%03d" % (n % 50),
                "severity": sev[n % 3],
                "team": "team-%02d" % (n % 20),
            },
            "annotations": {
                "summary": "%s firing on %s" % (name, inst),
                "description": "Metric node_load1 on %s has been above 4 for more than 5 minutes "
                "(current value: %d.%02d)." % (inst, 4 + i % 7, i % 100),
                "runbook_url": "https://runbooks.example.com/alerts/%s" % name.lower(),
            },
            "startsAt": starts,
            "endsAt": ends,
            "generatorURL": "http://prometheus-0.example.com:9090/graph?g0.expr=node_load1%%7Bjob%%3D%%22node%%22%%7D+%%3E+%d&g0.tab=1"
            % (4 + n % 7),
        }

    with open(a.out, "w") as f:
        for b in range(0, a.alerts, a.batch):
            batch = [alert(i) for i in range(b, min(b + a.batch, a.alerts))]
            f.write(json.dumps(batch, separators=(",", ":")))
            f.write("\n")


if __name__ == "__main__":
    main()
