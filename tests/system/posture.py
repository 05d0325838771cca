#!/usr/bin/env python3
"""Checks `dhrotate status --json` posture ratings against
data/tls-guidelines.tsv, for what a TLS client saw on its own.

    posture.py GUIDELINE STATUS_JSON_FILE DHE_CATALOG_NAME DHE_BITS TLS13_GROUP

DHE_CATALOG_NAME is the catalog name of the prime s_client saw (empty for
a custom one), TLS13_GROUP the group s_client negotiated. The table is
read here with its header's rules (exact name, else the largest
custom>=N the size reaches; for groups the name or an alias, else *),
independently of dhrotate's code. Prints one line; exits 1 on a mismatch."""
import json
import sys

guideline, status_file, dhe_name, dhe_bits, tls13 = sys.argv[1:6]
dhe_bits = int(dhe_bits)
rows = []
with open("data/tls-guidelines.tsv") as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        c = line.rstrip("\n").split("\t")
        if c[0] == guideline:
            rows.append(c)


def dhe_rating(name, bits):
    named = name[len("rfc7919-"):] if name.startswith("rfc7919-") else None
    for c in rows:
        if c[1] == "dhe" and named and c[2] == named:
            return c[3]
    best = None
    for c in rows:
        if c[1] == "dhe" and c[2].startswith("custom>="):
            n = int(c[2][len("custom>="):])
            if bits >= n and (best is None or n > best[0]):
                best = (n, c[3])
    return best[1]


def group_rating(name):
    name = name.removeprefix("rfc7919-").lower()
    for c in rows:
        if c[1] == "group" and name in [a.lower() for a in c[2].split("|")]:
            return c[3]
    for c in rows:
        if c[1] == "group" and c[2] == "*":
            return c[3]


status = json.load(open(status_file))
findings = status["posture"]["findings"]


def finding(subject):
    for f in findings:
        if f["subject"] == subject:
            return f
    sys.exit(f"{guideline}: no finding {subject!r}; have {[f['subject'] for f in findings]}")


dhe = finding("served by 127.0.0.1:25: DHE group (TLS 1.2)")
t13 = finding("served by 127.0.0.1:25: TLS 1.3 group a default client gets")
want_dhe, want_t13 = dhe_rating(dhe_name, dhe_bits), group_rating(tls13)
ok = dhe["rating"] == want_dhe and t13["rating"] == want_t13 and t13["observed"] == tls13
print(
    f"{guideline}: DHE {dhe['observed']} -> {dhe['rating']} (table: {want_dhe}); "
    f"TLS 1.3 {t13['observed']} (s_client: {tls13}) -> {t13['rating']} (table: {want_t13}); "
    f"posture {status['posture']['rating']}"
)
sys.exit(0 if ok else 1)
