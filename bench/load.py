"""HTTP load from a separate process: wrk when installed, else a small bounded Python client.

    python -m bench.load http://127.0.0.1:8000 --path /api/v1/me/ [--path ...] \
        [--header "Authorization: Bearer ..."] --concurrency 20 --duration 10

Both print one JSON line: requests, seconds, rps, errors (non-2xx included) and the latency
percentiles p50/p95/p99 in milliseconds. Only loopback addresses are accepted: this is a
benchmark tool, not a load tester for other people's servers.
"""

import argparse
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["run_load", "tool"]

MAX_DURATION = 120.0
MAX_CONCURRENCY = 64
MAX_REQUESTS = 2_000_000

WRK_SCRIPT = """
local paths = {%(paths)s}
local counter = 0
%(headers)s
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "seconds": %%f, "errors": %%d, "non_2xx": %%d, "bytes": %%d, '
    .. '"p50_ms": %%f, "p95_ms": %%f, "p99_ms": %%f, "max_ms": %%f, "mean_ms": %%f}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    summary.bytes, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
"""


def tool() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def _check(url: str, concurrency: int, duration: float) -> None:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("bench.load only talks to loopback addresses")
    if not 1 <= concurrency <= MAX_CONCURRENCY or not 0 < duration <= MAX_DURATION:
        raise ValueError(f"concurrency must be 1-{MAX_CONCURRENCY} and duration 0-{MAX_DURATION:g} s")


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk(url: str, paths: list[str], headers: dict[str, str], concurrency: int, duration: float) -> dict:
    script = WRK_SCRIPT % {
        "paths": ", ".join(_lua(p) for p in paths),
        "headers": "\n".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        threads = min(concurrency, 2)
        completed = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
             "-s", handle.name, url], capture_output=True, text=True, timeout=duration + 60, check=True)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    line = next(line for line in completed.stdout.splitlines() if line.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / result["seconds"] if result["seconds"] else 0.0
    result["errors"] += result.pop("non_2xx")
    result["tool"] = "wrk"
    return result


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))]


def _python(url: str, paths: list[str], headers: dict[str, str], concurrency: int, duration: float) -> dict:
    """Threads with keep-alive connections; latencies kept in memory (bounded by MAX_REQUESTS)."""
    parts = urlparse(url)
    latencies: list[float] = []
    errors = [0]
    sent = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        i = offset
        mine, bad = [], 0
        while time.perf_counter() < stop_at:
            with lock:
                if sent[0] >= MAX_REQUESTS:
                    break
                sent[0] += 1
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if not 200 <= response.status < 300:
                    bad += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return {"requests": len(ms), "seconds": seconds, "rps": len(ms) / seconds, "errors": errors[0], "bytes": 0,
            "p50_ms": _percentile(ms, 50), "p95_ms": _percentile(ms, 95), "p99_ms": _percentile(ms, 99),
            "max_ms": ms[-1] if ms else 0.0, "mean_ms": sum(ms) / len(ms) if ms else 0.0, "tool": "python"}


def run_load(url: str, paths: list[str], *, headers: dict[str, str] | None = None, concurrency: int = 20,
             duration: float = 10.0) -> dict:
    """Load `url` + each of `paths` (round robin) from a separate process and return its figures."""
    _check(url, concurrency, duration)
    if tool() == "wrk":
        return _wrk(url, paths, headers or {}, concurrency, duration)
    args = [sys.executable, "-m", "bench.load", url, "--concurrency", str(concurrency), "--duration", str(duration)]
    for path in paths:
        args += ["--path", path]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}: {value}"]
    completed = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60, check=True,
                               cwd=Path(__file__).resolve().parent.parent)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("url")
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args(argv)
    _check(args.url, args.concurrency, args.duration)
    headers = dict(h.split(": ", 1) for h in args.header)
    print(json.dumps(_python(args.url, args.path or ["/"], headers, args.concurrency, args.duration)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
