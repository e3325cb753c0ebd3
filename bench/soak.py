#!/usr/bin/env python3
"""The soak benchmark's helpers (bench/soak.sh runs them; see bench/README.md, "The soak").

  soak.py directory BASE TOKEN TENANTS NUMBERS
      the directory through the API: TENANTS tenants, NUMBERS numbers (local, national,
      regional), the layout of `layout` below.
  soak.py template BASE PUBLIC CONN AUTH CALLS NUMBERS
      CALLS whole calls through callgate's webhook endpoint, each ten signed Twilio
      deliveries (the Voice URL, four status callbacks of the call, four of an agent's leg,
      one recording callback), to numbers of the directory.
  soak.py clone sqlite DB FACTOR NUMBERS TENANTS SPAN_SECS
  soak.py clone postgres URL FACTOR NUMBERS TENANTS SPAN_SECS
      stores FACTOR - 1 copies of every template call's rows (callgate stopped), each with its
      own ids, numbers, tenants and times, spread over the SPAN_SECS before the template.
  soak.py reqs SEED CALLS URL AUTH SHARED
      the signed status callbacks of SHARED/gen_twilio.py (../shared/bench), with CallSids
      of their own drawn from SEED (each round's calls are new to the loaded store).
  soak.py latency BASE TOKEN COUNT PATH...
      COUNT sequential GETs of each PATH on one connection (fewer when they take over a
      minute): "p50 p99 max count", times in ms, per PATH.
  soak.py mock PORT
      the provider's REST API as far as callgate uses it here: recordings deleted (204) and
      listed (none left).
"""
import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import http.client
import http.server
import json
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse

AREAS = [512, 214, 303, 415, 617, 713, 206, 404, 305, 312]
TOLL_FREE = [800, 888, 877, 866, 855, 844, 833, 800, 888, 877]
ZIPS = 2000
TRADES = ["hvac", "plumbing", "electrical", "roofing", "pest", "landscaping", "garage", "cleaning", "solar", "locksmith"]
AGENTS = 50


# ---- the directory's layout: a pure function of the index, so the loader can find any number's
# kind and tenants again without reading the store.

def tenant_id(i):
    return "t%05d" % i


def tenant_zips(i):
    return ["%05d" % (70000 + (i * 7 + k * 613) % ZIPS) for k in range(3)]


def tenant_trades(i):
    return [TRADES[i % len(TRADES)], TRADES[(i // len(TRADES) + 3) % len(TRADES)]]


def number(i):
    """The i-th number of the directory: (e164, kind, tenant ids). One in ten is national, one
    in ten regional (two tenants), the rest local."""
    rest = i // 10
    kind = {0: "national", 1: "regional"}.get(i % 10, "local")
    area = TOLL_FREE[i % 10] if kind == "national" else AREAS[i % 10]
    e164 = "+1%03d%03d%04d" % (area, 200 + rest // 10000, rest % 10000)
    return e164, kind, i


def number_tenants(i, tenants):
    _, kind, _ = number(i)
    if kind == "local":
        return [tenant_id(i % tenants)]
    if kind == "regional":
        return [tenant_id(i % tenants), tenant_id((i + 1) % tenants)]
    return []


# ---- HTTP

def conn_of(base):
    u = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(c, method, path, token=None, body=None, headers=None):
    h = dict(headers or {})
    if token:
        h["authorization"] = "Bearer " + token
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h["content-type"] = "application/json"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, data


def in_threads(n, jobs, work):
    """Runs work(conn, job) for every job on n threads, each with its own connection."""
    lock = threading.Lock()
    it = iter(jobs)
    errors = []

    def run(base):
        c = conn_of(base)
        while True:
            with lock:
                job = next(it, None)
            if job is None or errors:
                return
            try:
                work(c, job)
            except Exception as e:  # reported after the threads end
                errors.append(e)
                return

    return run, errors


def directory(base, token, tenants, numbers):
    def put_tenant(c, i):
        s, d = call(c, "PUT", "/api/v1/tenants/" + tenant_id(i), token, {
            "name": "Tenant %05d %s" % (i, tenant_trades(i)[0].title()),
            "zip_codes": tenant_zips(i), "trades": tenant_trades(i),
            "booking_url": "https://tenant%05d.example.com/bookings" % i})
        if s not in (200, 201):
            raise RuntimeError("tenant %d: %d %s" % (i, s, d[:200]))

    def put_number(c, i):
        e164, kind, _ = number(i)
        body = {"kind": kind}
        if kind == "local":
            body["tenant_id"] = number_tenants(i, tenants)[0]
        elif kind == "regional":
            body["tenant_ids"] = number_tenants(i, tenants)
        s, d = call(c, "PUT", "/api/v1/numbers/" + urllib.parse.quote(e164), token, body)
        if s not in (200, 201):
            raise RuntimeError("number %s: %d %s" % (e164, s, d[:200]))

    for work, n in ((put_tenant, tenants), (put_number, numbers)):
        run, errors = in_threads(8, range(n), work)
        threads = [threading.Thread(target=run, args=(base,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]


# ---- signed Twilio deliveries

def sign(token, url, params):
    s = url + "".join(k + v for k, v in sorted(params.items()))
    return base64.b64encode(hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()).decode()


def rfc2822(t):
    return email.utils.format_datetime(dt.datetime.fromtimestamp(t, dt.timezone.utc)).replace("-0000", "+0000")


def template_call(j, numbers, rnd):
    """The ten deliveries of template call j, in the order a provider sends them. Its ids
    start with eight zeros after their prefix: the loader swaps those for a copy's number."""
    sid = "CA00000000%024x" % rnd.getrandbits(96)
    leg = "CA00000000%024x" % rnd.getrandbits(96)
    rec = "RE00000000%024x" % rnd.getrandbits(96)
    to, _, _ = number((j * 7) % numbers)
    frm = "+1737%07d" % j
    agent = "client:agent%02d" % (j % AGENTS)
    acct = "AC" + "0" * 32
    t0 = time.time()
    common = {"AccountSid": acct, "ApiVersion": "2010-04-01", "Called": to, "Caller": frm, "From": frm,
              "To": to, "FromCity": "AUSTIN", "FromState": "TX", "FromZip": "78701", "FromCountry": "US",
              "CalledCity": "DALLAS", "CalledState": "TX", "CalledZip": "75201", "CalledCountry": "US"}
    out = [dict(common, CallSid=sid, CallStatus="ringing", Direction="inbound", CallToken="%064x" % rnd.getrandbits(256),
                StirVerstat="TN-Validation-Passed-A", Timestamp=rfc2822(t0))]
    for seq, (ev, st) in enumerate([("initiated", "queued"), ("ringing", "ringing"), ("answered", "in-progress")]):
        out.append(dict(common, CallSid=sid, CallStatus=st, Direction="inbound", SequenceNumber=str(seq),
                        StatusCallbackEvent=ev, CallbackSource="call-progress-events", Timestamp=rfc2822(t0 + seq)))
    for seq, (ev, st) in enumerate([("initiated", "queued"), ("ringing", "ringing"), ("answered", "in-progress"), ("completed", "completed")]):
        p = dict(common, CallSid=leg, ParentCallSid=sid, CallStatus=st, Direction="outbound-dial", From=to, Caller=to,
                 To=agent, Called=agent, SequenceNumber=str(seq), StatusCallbackEvent=ev,
                 CallbackSource="call-progress-events", Timestamp=rfc2822(t0 + 2 + seq))
        if ev == "completed":
            p["CallDuration"] = str(60 + j % 300)
            p["Duration"] = "2"
        out.append(p)
    out.append({"AccountSid": acct, "CallSid": sid, "RecordingSid": rec, "RecordingStatus": "completed",
                "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/%s/Recordings/%s" % (acct, rec),
                "RecordingDuration": str(55 + j % 300), "RecordingChannels": "2", "RecordingSource": "DialVerb",
                "RecordingStartTime": rfc2822(t0 + 4), "ErrorCode": "0", "Timestamp": rfc2822(t0 + 7)})
    out.append(dict(common, CallSid=sid, CallStatus="completed", Direction="inbound", SequenceNumber="3",
                    StatusCallbackEvent="completed", CallbackSource="call-progress-events",
                    CallDuration=str(62 + j % 300), Duration="2", Timestamp=rfc2822(t0 + 8)))
    return out


def template(base, public, conn, auth, calls, numbers):
    url = "%s/webhooks/twilio/%s" % (public, conn)
    rnd = random.Random(23)
    c = conn_of(base)
    for j in range(calls):
        for p in template_call(j, numbers, rnd):
            body = urllib.parse.urlencode(p)
            s, d = call(c, "POST", "/webhooks/twilio/" + conn, body=body, headers={
                "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sign(auth, url, p)})
            if s >= 300:
                raise RuntimeError("template delivery: %d %s" % (s, d[:200]))


def reqs(seed, calls, url, auth, shared):
    """The requests of SHARED/gen_twilio.py, each call given a CallSid drawn from `seed` and
    signed again: each round's calls are new to a store that holds earlier rounds'."""
    sys.path.insert(0, shared)
    import gen_twilio
    made = subprocess.run([sys.executable, shared + "/gen_twilio.py", str(calls), url, auth],
                          check=True, capture_output=True, text=True).stdout
    rnd = random.Random(seed)
    sids = {}
    out = sys.stdout
    for line in made.splitlines():
        params = dict(urllib.parse.parse_qsl(line.split("\t", 1)[1], keep_blank_values=True))
        sid = params["CallSid"]
        params["CallSid"] = sids.setdefault(sid, "CA%032x" % rnd.getrandbits(128))
        out.write(gen_twilio.sign(auth, url, params) + "\t" + urllib.parse.urlencode(params) + "\n")


# ---- the loader: copies of the template calls' rows

# What identifies a template call in its rows. Every text value of a copy is the template's
# with these swapped; integers that are times are shifted, ids renumbered.
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
TS_FORM = re.compile(rb"Timestamp=([^&]*)|RecordingStartTime=([^&]*)")


_PARSED = {}


def shift_iso(s, delta):
    def one(m):
        raw = m.group(0)
        base = _PARSED.get(raw)
        if base is None:  # the template's times: parsed once
            base = _PARSED[raw] = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        t = base + dt.timedelta(seconds=delta)
        frac = raw[19:].split("Z")[0].split("+")[0].split("-")[0]
        out = t.strftime("%Y-%m-%dT%H:%M:%S")
        if frac:
            out += "." + ("%06d000" % t.microsecond)[: len(frac) - 1]
        return out + ("Z" if raw.endswith("Z") else raw[-6:])
    return ISO.sub(one, s)


def shift_form(b, delta):
    def one(m):
        name, raw = m.group(0).split(b"=", 1)
        base = _PARSED.get(raw)
        if base is None:
            base = _PARSED[raw] = email.utils.parsedate_to_datetime(urllib.parse.unquote_plus(raw.decode())).timestamp()
        return name + b"=" + urllib.parse.quote_plus(time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(base + delta))).encode()
    return TS_FORM.sub(one, b)


class Template:
    """The template calls' rows, read from the store, and what each copy changes in them."""

    def __init__(self, tables, calls, numbers, tenants):
        self.tables = tables  # name -> (columns, rows)
        self.calls = calls    # seq -> {"id", "sid", "to_index", "created_at"}
        self.numbers = numbers
        self.tenants = tenants


def swaps(k, j, t, numbers, tenants, rnd, delta_ms):
    """(old, new) string pairs for copy k of template call j (its facts t)."""
    pairs = [("CA00000000", "CA%08x" % k), ("RE00000000", "RE%08x" % k)]
    # The call's id is a UUID v7: the copy's carries the copy's creation time.
    ms = t["created_at"] + delta_ms
    pairs.append((t["id"], "%08x-%04x%s%012x" % (ms >> 16, ms & 0xFFFF, t["id"][13:24], k * 1000 + j)))
    # A number of the same kind: its index differs from the template's by a multiple of 10.
    src = t["to_index"]
    dst = (src + 10 * rnd.randrange(numbers // 10)) % numbers
    pairs.append((number(src)[0][2:], number(dst)[0][2:]))
    for a, b in zip(number_tenants(src, tenants), number_tenants(dst, tenants)):
        pairs.append(('"%s"' % a, '"%s"' % b))
    pairs.append(("1737%07d" % j, "1%03d%07d" % (rnd.choice([737, 469, 972, 210, 281, 720]), rnd.randrange(10**7))))
    return pairs


def swap_text(v, pairs):
    for a, b in pairs:
        v = v.replace(a, b)
    return v


def swap_bytes(v, pairs):
    for a, b in pairs:
        v = v.replace(a, b)
    return v


# Per table: how to find the template's rows and how each column changes.
#   key: the column holding the template call (seq, id, or delivery id)
#   cols: column -> "seq" | "delivery" | "time" | "text" | "keep" | "body" | "digest" | "skip",
#   or "done": a time, and for a template row still open, the copy's next_attempt_at (the
#   copies are weeks old: their recordings were deleted, their reconciliation is over)
LAYOUT = {
    "calls": ("seq", {"seq": "seq", "id": "text", "connection_id": "keep", "provider": "keep",
                      "provider_call_id": "text", "state": "keep", "number_kind": "keep",
                      "tenant_status": "keep", "tenant_id": "tenant", "recording_status": "keep",
                      "agent_id": "text", "fold": "text", "resolution": "text", "created_at": "time",
                      "updated_at": "time", "events_sent": "keep"}),
    "deliveries": ("delivery", {"id": "delivery", "connection_id": "keep", "digest": "digest",
                                "received_at": "time", "method": "keep", "target": "keep",
                                "content_type": "keep", "body": "body"}),
    "events": ("seq", {"call_seq": "seq", "dedupe_key": "text", "delivery_id": "delivery",
                       "recorded_at": "time", "kind": "keep"}),
    "call_legs": ("seq", {"leg_id": "text", "connection_id": "keep", "call_seq": "seq"}),
    "reconciliations": ("id", {"id": "text", "next_attempt_at": "time", "attempts": "keep",
                               "listings": "keep", "last_error": "keep", "done_at": "done"}),
    "outbox": ("call_id", {"id": "skip", "kind": "keep", "connection_id": "keep", "call_id": "text",
                           "provider_call_id": "text", "recording_id": "text", "attempts": "keep",
                           "next_attempt_at": "time", "done_at": "done", "last_error": "keep",
                           "created_at": "time"}),
    "audit": ("call_id", {"id": "skip", "at": "time", "actor": "keep", "action": "keep",
                          "call_id": "text", "tenant_id": "tenant", "detail": "text"}),
}


def read_template(q, columns, numbers, tenants):
    """q(sql) -> rows, columns(table) -> its column names. The template calls are every call
    in the store when it is cloned. A column LAYOUT does not name is copied as it is."""
    calls = {}
    found = {}
    for seq, body in q("SELECT e.call_seq, d.body FROM events e JOIN deliveries d ON d.id = e.delivery_id"):
        m = re.search(r"From=%2B1737(\d{7})", bytes(body).decode())
        if m:
            found[seq] = int(m.group(1))
    for seq, cid, sid, created in q("SELECT seq, id, provider_call_id, created_at FROM calls ORDER BY seq"):
        j = found.get(seq)
        if j is None:
            raise RuntimeError("call %s is no template call" % cid)
        calls[seq] = {"id": cid, "sid": sid, "j": j, "to_index": (j * 7) % numbers, "created_at": created}
    owners = dict(q("SELECT delivery_id, MIN(call_seq) FROM events GROUP BY delivery_id"))
    ids = {c["id"]: s for s, c in calls.items()}
    tables = {}
    for name, (key, cols) in LAYOUT.items():
        names = columns(name)
        cols.update({c: "keep" for c in names if c not in cols})
        rows = []
        for r in q("SELECT %s FROM %s" % (", ".join(names), name)):
            r = dict(zip(names, r))
            if name == "deliveries":
                owner = owners.get(r["id"])
            elif key == "seq":
                owner = r["call_seq" if "call_seq" in r else "seq"]
            else:
                owner = ids.get(r[key])
            if owner is None:
                continue  # not a call's row (audit of the directory, ...)
            rows.append((owner, r))
        tables[name] = (names, rows)
    return Template(tables, calls, numbers, tenants)


def copies(tp, factor, span_ms, seq_base, delivery_base):
    """Yields (table, row tuple) for copies 1 .. factor-1, oldest first; copy k's times are
    the template's minus (factor - k) * span / factor."""
    ncalls = len(tp.calls)
    seqs = sorted(tp.calls)
    seq_index = {s: i for i, s in enumerate(seqs)}
    dels = sorted(r["id"] for _, r in tp.tables["deliveries"][1])
    del_index = {d: i for i, d in enumerate(dels)}
    ndel = len(dels)
    rnd = random.Random(11)
    order = ["deliveries", "calls", "events", "call_legs", "reconciliations", "outbox", "audit"]
    for k in range(1, factor):
        delta_ms = -(factor - k) * span_ms // factor
        delta_s = delta_ms / 1000
        pairs = {s: swaps(k, tp.calls[s]["j"], tp.calls[s], tp.numbers, tp.tenants, rnd, delta_ms) for s in seqs}
        byte_pairs = {s: [(a.encode(), b.encode()) for a, b in p] for s, p in pairs.items()}
        tenant_pairs = {s: [(a.strip('"'), b.strip('"')) for a, b in p if a.startswith('"')] for s, p in pairs.items()}
        for name in order:
            names, rows = tp.tables[name]
            cols = LAYOUT[name][1]
            for owner, r in rows:
                p = pairs[owner]
                out = []
                for c in names:
                    how, v = cols[c], r[c]
                    if how == "skip":
                        continue
                    if how == "done":
                        v = r["next_attempt_at"] if v is None else v
                        how = "time"
                    if v is None or how == "keep":
                        out.append(v)
                    elif how == "seq":
                        out.append(seq_base + (k - 1) * ncalls + seq_index[v] + 1)
                    elif how == "delivery":
                        out.append(delivery_base + (k - 1) * ndel + del_index[v] + 1)
                    elif how == "time":
                        out.append(v + delta_ms)
                    elif how == "text":
                        out.append(shift_iso(swap_text(v, p), delta_s))
                    elif how == "tenant":
                        out.append(swap_text(v, tenant_pairs[owner]))
                    elif how == "body":
                        out.append(shift_form(swap_bytes(bytes(v), byte_pairs[owner]), delta_s))
                    elif how == "digest":
                        out.append(None)  # filled below, from the body
                if name == "deliveries":
                    i = names.index("digest")
                    h = hashlib.sha256()
                    h.update(r["method"].encode() + b"\0" + r["target"].encode() + b"\0" + out[names.index("body")])
                    out[i] = h.digest()
                yield name, [c for c in names if cols[c] != "skip"], out
        if k % max(1, factor // 20) == 0:
            print("  copy %d of %d" % (k, factor - 1), file=sys.stderr, flush=True)


def clone_sqlite(path, factor, numbers, tenants, span_s):
    import sqlite3
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")
    tp = read_template(lambda sql: db.execute(sql).fetchall(),
                       lambda t: [r[1] for r in db.execute("PRAGMA table_info(%s)" % t)], numbers, tenants)
    seq_base = db.execute("SELECT max(seq) FROM calls").fetchone()[0]
    del_base = db.execute("SELECT max(id) FROM deliveries").fetchone()[0]
    db.execute("BEGIN")
    stmts = {}
    batch = {}
    n = 0
    for name, cols, row in copies(tp, factor, span_s * 1000, seq_base, del_base):
        if name not in stmts:
            stmts[name] = "INSERT INTO %s (%s) VALUES (%s)" % (name, ", ".join(cols), ", ".join("?" * len(cols)))
        batch.setdefault(name, []).append(row)
        n += 1
        if n % 200000 == 0:
            flush_sqlite(db, stmts, batch)
    flush_sqlite(db, stmts, batch)
    template_last(db.execute, seq_base, del_base)
    # AUTOINCREMENT: the next call's seq follows the copies.
    db.execute("UPDATE sqlite_sequence SET seq = (SELECT max(seq) FROM calls) WHERE name = 'calls'")
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()


def template_last(run, seq_base, del_base, identity=False):
    """Moves the template calls' sequences and delivery ids (those up to seq_base and
    del_base) past the copies': the template is the newest, so ids follow time throughout,
    as callgate assigns them, and retention's walks (oldest id first, stopping at the first
    row too young) find the copies. run(sql) runs one statement. identity: PostgreSQL, where
    the two columns take a value only while they are generated by default."""
    seq_off = run("SELECT max(seq) FROM calls").fetchone()[0]
    del_off = run("SELECT max(id) FROM deliveries").fetchone()[0]
    moves = [("calls", "seq", seq_off, seq_base), ("events", "call_seq", seq_off, seq_base),
             ("call_legs", "call_seq", seq_off, seq_base), ("deliveries", "id", del_off, del_base),
             ("events", "delivery_id", del_off, del_base)]
    generated = [("calls", "seq"), ("deliveries", "id")] if identity else []
    for table, col in generated:
        run("ALTER TABLE %s ALTER COLUMN %s SET GENERATED BY DEFAULT" % (table, col))
    for table, col, off, last in moves:
        run("UPDATE %s SET %s = %s + %d WHERE %s <= %d" % (table, col, col, off, col, last))
    for table, col in generated:
        run("ALTER TABLE %s ALTER COLUMN %s SET GENERATED ALWAYS" % (table, col))


def flush_sqlite(db, stmts, batch):
    # Deliveries first: events refer to them.
    for name in ["deliveries", "calls", "events", "call_legs", "reconciliations", "outbox", "audit"]:
        if batch.get(name):
            db.executemany(stmts[name], batch[name])
            batch[name] = []


def clone_postgres(url, factor, numbers, tenants, span_s):
    def q(sql):
        out = subprocess.run(["psql", url, "-XAtqc", "COPY (%s) TO STDOUT WITH (FORMAT csv)" % sql],
                             check=True, capture_output=True, text=True).stdout
        import csv, io
        rows = []
        for r in csv.reader(io.StringIO(out)):
            rows.append([pg_value(v) for v in r])
        return rows
    tp = read_template(q, lambda t: [r[0] for r in q(
        "SELECT column_name FROM information_schema.columns WHERE table_name = '%s' ORDER BY ordinal_position" % t)],
        numbers, tenants)
    seq_base = int(q("SELECT max(seq) FROM calls")[0][0])
    del_base = int(q("SELECT max(id) FROM deliveries")[0][0])
    # Identity columns take the copies' values, then continue after them.
    procs = {}
    for name, cols, row in copies(tp, factor, span_s * 1000, seq_base, del_base):
        if name not in procs:
            p = subprocess.Popen(["psql", url, "-XAtqc", "COPY %s (%s) FROM STDIN" % (name, ", ".join(cols))],
                                 stdin=subprocess.PIPE)
            procs[name] = p
        procs[name].stdin.write(b"\t".join(pg_copy(v) for v in row) + b"\n")
    for p in procs.values():
        p.stdin.close()
        if p.wait() != 0:
            raise RuntimeError("COPY failed")
    template_last(Psql(url).run, seq_base, del_base, identity=True)
    subprocess.run(["psql", url, "-XAtqc",
                    "SELECT setval(pg_get_serial_sequence('calls', 'seq'), (SELECT max(seq) FROM calls));"
                    "SELECT setval(pg_get_serial_sequence('deliveries', 'id'), (SELECT max(id) FROM deliveries));"
                    "SELECT setval(pg_get_serial_sequence('outbox', 'id'), (SELECT max(id) FROM outbox));"
                    "SELECT setval(pg_get_serial_sequence('audit', 'id'), (SELECT max(id) FROM audit))"],
                   check=True, capture_output=True)


class Psql:
    """Statements run one at a time through psql, for template_last."""

    def __init__(self, url):
        self.url = url
        self.rows = []

    def run(self, sql):
        out = subprocess.run(["psql", self.url, "-XAtqc", sql], check=True, capture_output=True, text=True).stdout
        self.rows = [[pg_value(v) for v in line.split("|")] for line in out.splitlines()]
        return self

    def fetchone(self):
        return self.rows[0]


def pg_value(v):
    if v.startswith("\\x"):
        return bytes.fromhex(v[2:])
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    return None if v == "" else v


def pg_copy(v):
    if v is None:
        return b"\\N"
    if isinstance(v, (bytes, bytearray)):
        return b"\\\\x" + bytes(v).hex().encode()
    s = str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r").encode()


# ---- measuring reads

def latency(base, token, count, paths, budget=60.0):
    """Stops a path's requests after `budget` seconds (a slow read would take hours)."""
    c = conn_of(base)
    for path in paths:
        times = []
        start = time.perf_counter()
        for _ in range(count):
            if times and time.perf_counter() - start > budget:
                break
            t = time.perf_counter()
            s, d = call(c, "GET", path, token)
            times.append((time.perf_counter() - t) * 1000)
            if s != 200:
                raise RuntimeError("%s: %d %s" % (path, s, d[:200]))
        times.sort()
        p99 = times[max(0, -(-len(times) * 99 // 100) - 1)]
        print("%.2f %.2f %.2f %d" % (times[len(times) // 2], p99, times[-1], len(times)))


def mock(port):
    class H(http.server.BaseHTTPRequestHandler):
        def do_DELETE(self):
            self.send_response(204)
            self.end_headers()

        def do_GET(self):
            body = b'{"recordings": []}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


def main():
    a = sys.argv[1:]
    if a[0] == "directory":
        directory(a[1], a[2], int(a[3]), int(a[4]))
    elif a[0] == "template":
        template(a[1], a[2], a[3], a[4], int(a[5]), int(a[6]))
    elif a[0] == "clone":
        f = {"sqlite": clone_sqlite, "postgres": clone_postgres}[a[1]]
        f(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]))
    elif a[0] == "reqs":
        reqs(int(a[1]), int(a[2]), a[3], a[4], a[5])
    elif a[0] == "latency":
        latency(a[1], a[2], int(a[3]), a[4:])
    elif a[0] == "mock":
        mock(int(a[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
