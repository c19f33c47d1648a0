#!/usr/bin/env python3
"""POST N silences to a server's /api/v2/silences over one keep-alive connection.

Usage: load_silences.py HOST:PORT N

Silences look like what people create: alertname=BenchAlert%03d (the names gen_alerts.py uses,
one of 200) and instance=host-%06d:9100, every 10th alert's instance (so with N = 1,000 a few
per cent of the generated alerts are silenced, and with N = 10,000 one in ten), ending in two
hours, with an author and a comment. Prints one JSON line: posted, failed, seconds.
"""
import datetime as dt
import http.client
import json
import sys
import time


def main():
    target, n = sys.argv[1], int(sys.argv[2])
    host, port = target.rsplit(":", 1)
    now = dt.datetime.now(dt.timezone.utc)
    ends = (now + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    starts = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    ok = failed = 0
    t0 = time.monotonic()
    for i in range(n):
        body = json.dumps({
            "matchers": [
                {"name": "alertname", "value": "BenchAlert%03d" % (i % 200), "isRegex": False, "isEqual": True},
                {"name": "instance", "value": "host-%06d:9100" % (i * 10), "isRegex": False, "isEqual": True},
            ],
            "startsAt": starts,
            "endsAt": ends,
            "createdBy": "bench",
            "comment": "maintenance window %d" % i,
        })
        conn.request("POST", "/api/v2/silences", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        if r.status == 200:
            ok += 1
        else:
            failed += 1
    print(json.dumps({"posted": ok, "failed": failed, "seconds": round(time.monotonic() - t0, 3)}))


if __name__ == "__main__":
    main()
