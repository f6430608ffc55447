#!/usr/bin/env python3
"""Socket figures of `trigc run` as a service, for BENCHMARKS.md (issue #19).

Needs processes (a service and its producers), so it is a script, not a divan
bench. Usage (from the crate root, after `cargo build --release`):

  benches/service_load.py throughput EVENTS.ndjson [RUNS]
      events/s from a file, over TCP (one producer) and over HTTP (4 clients,
      1000-line bodies), each socket input also with `--state DIR` (every line
      journaled before it is processed, checkpoints every
      $TRIGC_CHECKPOINT_EVERY, default 5s); for sockets, from the first byte sent
      until /metrics counts every event (TCP) or every 202 came back (HTTP).
      The modes run in turn within each run; $TRIGC_MODES picks some
      (for example `file,http+state`).
  benches/service_load.py latency RATE SECONDS
      an immediate trigger under the wall clock, events paced at RATE/s over
      TCP: p50/p99 from writing an event to the socket to reading its record
      on trigc's stdout (both ends in this script).
  benches/service_load.py webhook RATE SECONDS
      the immediate trigger as a webhook, `--deliver` to a local receiver (a
      second trigc on its HTTP ingestion endpoint, printing a record per
      webhook): p50/p99 from writing an event to the socket to reading the
      receiver's record (so it includes the receiver's own processing).
  benches/service_load.py timers RATE SECONDS
      `wait 1s` per event (a new customer each), RATE/s over TCP: lateness of
      each record, wall time read minus its `at`, p50/p99; and trigc's own
      trigc_timer_lateness_seconds histogram.

The producer and the reader are Python threads of one interpreter (the lock is
handed over every 0.1 ms): above some tens of thousands of events per second
they, not trigc, set the pace and add to the latency measured.
"""

import datetime
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ.get("TRIGC", "target/release/trigc")


class Service:
    def __init__(self, args, stdout=subprocess.DEVNULL):
        self.proc = subprocess.Popen(
            [BIN, "run", *args], stdout=stdout, stderr=subprocess.PIPE
        )
        self.addrs = {}
        self.lines = []
        want = {"listening"} | ({"metrics"} if "--metrics" in args else set())
        while want - set(self.addrs):
            line = self.proc.stderr.readline().decode()
            if not line:
                raise SystemExit("trigc ended: " + "".join(self.lines))
            self.lines.append(line)
            m = re.search(r"(listening on|metrics on) \w+:/*([^/\s]+)", line)
            if m:
                self.addrs["metrics" if m.group(1) == "metrics on" else "listening"] = m.group(2)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.lines.append(line.decode(errors="replace"))

    def metric(self, name):
        host, port = self.addrs["metrics"].rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port))
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
        c.close()
        values = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                values[k] = float(v)
        return values if name is None else values.get(name, 0.0)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        return "".join(self.lines)


def tcp_connect(addr):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def tcp_rate(data, n, extra):
    svc = Service(["rules/", "--input", "tcp://127.0.0.1:0", "--clock", "event",
                   "--metrics", "127.0.0.1:0", *extra])
    t0 = time.perf_counter()
    s = tcp_connect(svc.addrs["listening"])
    s.sendall(data)
    s.close()
    while svc.metric("trigc_events_received_total") < n:
        time.sleep(0.01)
    rate = n / (time.perf_counter() - t0)
    svc.stop()
    return rate


def http_rate(bodies, n, extra):
    svc = Service(["rules/", "--input", "http://127.0.0.1:0/events", "--clock", "event", *extra])
    host, port = svc.addrs["listening"].rsplit(":", 1)
    todo = list(reversed(bodies))
    lock = threading.Lock()

    def client():
        c = http.client.HTTPConnection(host, int(port))
        while True:
            with lock:
                if not todo:
                    return
                body = todo.pop()
            while True:
                c.request("POST", "/events", body, {"content-type": "application/x-ndjson"})
                r = c.getresponse()
                r.read()
                if r.status == 202:
                    break
                if r.status != 429:
                    raise SystemExit(f"HTTP {r.status}")
                time.sleep(0.05)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = n / (time.perf_counter() - t0)
    log = svc.stop()
    return rate, log


def throughput(events, runs):
    data = open(events, "rb").read()
    n = data.count(b"\n")
    lines = data.splitlines(keepends=True)
    bodies = [b"".join(lines[i : i + 1000]) for i in range(0, len(lines), 1000)]
    every = os.environ.get("TRIGC_CHECKPOINT_EVERY", "5s")
    modes = ["file", "tcp", "http", "tcp+state", "http+state"]
    if os.environ.get("TRIGC_MODES"):
        modes = os.environ["TRIGC_MODES"].split(",")
    rates = {m: [] for m in modes}
    checkpoints = []
    for _ in range(runs):
        for mode in modes:
            state = tempfile.mkdtemp(prefix="trigc-bench-state-") if "state" in mode else None
            extra = ["--state", state, "--checkpoint-every", every, "--stats"] if state else []
            if mode == "file":
                out = subprocess.run(
                    [BIN, "run", "rules/", "--input", events, "--stats"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True,
                ).stderr.decode()
                rates[mode].append(int(re.search(r'"events_per_sec":(\d+)', out).group(1)))
            elif mode.startswith("tcp"):
                rates[mode].append(tcp_rate(data, n, extra))
            else:
                rate, log = http_rate(bodies, n, extra)
                rates[mode].append(rate)
                m = re.search(r'"checkpoints":(\{[^}]*\})', log)
                if m:
                    checkpoints.append(m.group(1))
            if state:
                shutil.rmtree(state)
    base = statistics.median(rates["file"]) if rates.get("file") else None
    for k, v in rates.items():
        ratio = f"  {statistics.median(v) / base:.2f}x file" if base else ""
        print(f"{k:10} median {statistics.median(v):>10.0f} events/s{ratio}  runs {[round(x) for x in v]}")
    for c in checkpoints:
        print(f"http+state checkpoints {c}")


ECHO = b'event VISIT { page: string }\ntrigger echo\n  on VISIT\n  then emit "seen" with { page: page }\n'
WAIT = b'event VISIT { page: string }\ntrigger later\n  on VISIT\n  wait 1s\n  then emit "later" with { page: page }\n'


HOOK = (b'event VISIT { page: string }\ntrigger hook\n  on VISIT\n'
        b'  then webhook "http://127.0.0.1:%s/hook"\n'
        b'    with { type: "HIT", user: "receiver", ts: now, page: page }\n')

# The receiver of `webhook` mode: a second trigc, taking the webhooks in on its HTTP
# ingestion endpoint (a Rust server, unlike a Python one fast enough for 10k/s) and
# printing one record per webhook, read here with the time it arrives.
RECEIVER = b'event HIT { page: string }\ntrigger got\n  on HIT\n  then emit "got" with { page: page }\n'


def percentiles(xs):
    xs = sorted(xs)
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    return pick(0.5), pick(0.99), xs[-1]


def paced(rules, rate, seconds, measure, extra=()):
    """Send `rate` events/s for `seconds` (customer per event: `u{i % 1000}` or
    `u{i}`), collect each record with the time it was read."""
    with tempfile.NamedTemporaryFile(suffix=".trig", delete=False) as f:
        f.write(rules)
    svc = Service([f.name, "--input", "tcp://127.0.0.1:0", "--metrics", "127.0.0.1:0",
                   *extra], stdout=subprocess.PIPE)
    got = {}

    def reader():
        for line in svc.proc.stdout:
            now = time.time()
            m = re.search(rb'"page":"p(\d+)"', line)
            a = re.search(rb'"at":"([^"]+)"', line)
            if m:
                got[int(m.group(1))] = (now, a.group(1).decode() if a else None)

    threading.Thread(target=reader, daemon=True).start()
    s = tcp_connect(svc.addrs["listening"])
    sent = {}
    total = int(rate * seconds)
    tick = 0.001
    per_tick = max(1, round(rate * tick))
    t0 = time.time()
    i = 0
    while i < total:
        due = t0 + (i // per_tick) * tick
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        now = time.time()
        ms = int(now * 1000)
        batch = []
        for j in range(i, min(total, i + per_tick)):
            user = j if measure == "timers" else j % 1000
            batch.append(b'{"type":"VISIT","user":"u%d","ts":%d,"page":"p%d"}\n' % (user, ms, j))
            sent[j] = now
        s.sendall(b"".join(batch))
        i += per_tick
    achieved = total / (time.time() - t0)
    end = time.time() + (3 if measure == "timers" else 1)
    while len(got) < total and time.time() < end:
        time.sleep(0.05)
    hist = svc.metric(None)
    s.close()
    svc.stop()
    os.unlink(f.name)
    return sent, got, achieved, hist


def latency(rate, seconds):
    sent, got, achieved, _ = paced(ECHO, rate, seconds, "latency")
    lat = [(got[j][0] - sent[j]) * 1000 for j in sent if j in got]
    p50, p99, mx = percentiles(lat)
    print(f"rate {rate}/s (achieved {achieved:.0f}/s), {len(lat)}/{len(sent)} records: "
          f"arrival->stdout p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {mx:.3f} ms")


def webhook(rate, seconds):
    with tempfile.NamedTemporaryFile(suffix=".trig", delete=False) as f:
        f.write(RECEIVER)
    # Event time with no lateness, and webhooks that overtake each other processed
    # all the same: a record as soon as its webhook is in (`--lateness` would hold
    # them back by that much).
    receiver = Service([f.name, "--input", "http://127.0.0.1:0/hook", "--clock", "event",
                        "--late", "process"], stdout=subprocess.PIPE)
    arrived = {}

    def read():
        for line in receiver.proc.stdout:
            now = time.time()
            m = re.search(rb'"page":"p(\d+)"', line)
            if m:
                arrived[int(m.group(1))] = now

    threading.Thread(target=read, daemon=True).start()
    port = receiver.addrs["listening"].rsplit(":", 1)[1]
    extra = ["--deliver", *os.environ.get("TRIGC_EXTRA", "").split()]
    sent, got, achieved, _ = paced(HOOK % port.encode(), rate, seconds, "latency", extra)
    receiver.stop()
    os.unlink(f.name)
    for name, seen in (("stdout", {j: got[j][0] for j in got}), ("webhook", arrived)):
        lat = [(seen[j] - sent[j]) * 1000 for j in sent if j in seen]
        p50, p99, mx = percentiles(lat)
        print(f"rate {rate}/s (achieved {achieved:.0f}/s), {len(lat)}/{len(sent)} records: "
              f"arrival->{name} p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {mx:.3f} ms")


def timers(rate, seconds):
    sent, got, achieved, hist = paced(WAIT, rate, seconds, "timers")
    lat = []
    for j, (now, at) in got.items():
        due = datetime.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
        lat.append((now - due) * 1000)
    p50, p99, mx = percentiles(lat)
    print(f"rate {rate}/s (achieved {achieved:.0f}/s), {len(lat)}/{len(sent)} timers: "
          f"read - due p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {mx:.3f} ms")
    buckets = sorted((float(re.search(r'le="([^"]+)"', k).group(1)), v)
                     for k, v in hist.items() if k.startswith("trigc_timer_lateness_seconds_bucket"))
    count = hist.get("trigc_timer_lateness_seconds_count", 0)
    for le, v in buckets:
        if count and v >= 0.99 * count:
            print(f"trigc_timer_lateness_seconds: p99 <= {le * 1000:g} ms ({int(count)} firings)")
            break


if __name__ == "__main__":
    # The reader and the producer are threads of one interpreter: hand the lock
    # over every 0.1 ms rather than every 5 ms, or a record waits for the producer.
    sys.setswitchinterval(0.0001)
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "throughput":
        throughput(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    elif mode == "latency":
        latency(int(sys.argv[2]), float(sys.argv[3]))
    elif mode == "webhook":
        webhook(int(sys.argv[2]), float(sys.argv[3]))
    elif mode == "timers":
        timers(int(sys.argv[2]), float(sys.argv[3]))
    else:
        raise SystemExit(__doc__)
