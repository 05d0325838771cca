#!/usr/bin/env python3
"""Writes a synthetic Postfix mail log of at least SIZE_MB megabytes.

Each session looks like what Postfix logs for one message: connect, the TLS
record (inbound smtpd, with a realistic mix of TLS 1.3, ECDHE, DHE and
non-forward-secret RSA ciphers), queue lines, an outbound smtp TLS record,
delivery, disconnect. Deterministic (fixed seed), so runs are comparable.
"""
import random
import sys

size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
out = sys.argv[2] if len(sys.argv) > 2 else "-"
rng = random.Random(42)
peers = [f"mx{i}.example{i % 97}.net[198.51.{i % 250}.{i % 200 + 1}]" for i in range(5000)]
inbound = [
    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519MLKEM768 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits) key-exchange ECDHE (prime256v1) server-signature RSA (2048 bits) server-digest SHA256",
    "TLSv1.2 with cipher DHE-RSA-AES256-GCM-SHA384 (256/256 bits) key-exchange DHE (2048 bits) server-signature RSA (2048 bits) server-digest SHA256",
    "TLSv1.2 with cipher AES256-GCM-SHA384 (256/256 bits)",
]
weights = [60, 5, 25, 5, 5]
trust = ["Anonymous", "Untrusted", "Trusted", "Verified"]
f = sys.stdout if out == "-" else open(out, "w")
target = size_mb * 1024 * 1024
written = 0
n = 0
while written < target:
    n += 1
    pid = 1000 + n % 30000
    qid = f"{n:010X}"
    peer = rng.choice(peers)
    ts = f"Nov 29 {n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d} mx1"
    kx = rng.choices(inbound, weights)[0]
    lines = [
        f"{ts} postfix/smtpd[{pid}]: connect from {peer}",
        f"{ts} postfix/smtpd[{pid}]: {rng.choice(trust)} TLS connection established from {peer}: {kx}",
        f"{ts} postfix/smtpd[{pid}]: {qid}: client={peer}",
        f"{ts} postfix/cleanup[{pid + 1}]: {qid}: message-id=<{n}@example.org>",
        f"{ts} postfix/qmgr[900]: {qid}: from=<user{n % 300}@example.org>, size={rng.randint(900, 90000)}, nrcpt=1 (queue active)",
        f"{ts} postfix/smtp[{pid + 2}]: Trusted TLS connection established to {rng.choice(peers)}:25: {rng.choices(inbound, weights)[0]}",
        f"{ts} postfix/smtp[{pid + 2}]: {qid}: to=<rcpt{n % 500}@example.com>, relay={peer}:25, delay=0.4, delays=0.1/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        f"{ts} postfix/qmgr[900]: {qid}: removed",
        f"{ts} postfix/smtpd[{pid}]: disconnect from {peer} ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
    ]
    if n % 50 == 0:
        lines.append(f"{ts} postfix/smtpd[{pid}]: lost connection after STARTTLS from {peer}")
    block = "\n".join(lines) + "\n"
    f.write(block)
    written += len(block)
f.close()
print(f"{written} bytes, {n} sessions", file=sys.stderr)
