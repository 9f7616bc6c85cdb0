"""The load generators against a tiny local HTTP server."""

import http.server
import shutil
import threading

import pytest

from bench.load import _python, run_load


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        ok = self.path.startswith("/ok")
        body = b'{"ok": true}' if ok else b"{}"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_python_client_counts_requests_latencies_and_errors(server):
    good = _python(server, ["/ok/1", "/ok/2"], {"Authorization": "Bearer x"}, 4, 0.5)
    bad = _python(server, ["/missing"], {}, 2, 0.3)

    assert good["requests"] > 10 and good["errors"] == 0 and good["rps"] > 0
    assert 0 < good["p50_ms"] <= good["p95_ms"] <= good["p99_ms"] <= good["max_ms"]
    assert bad["errors"] == bad["requests"] > 0


@pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is not installed")
def test_wrk_runs_with_the_generated_script_and_reports_non_2xx_as_errors(server):
    good = run_load(server, ["/ok/a", "/ok/b"], headers={"Authorization": "Bearer x"}, concurrency=2, duration=1)
    bad = run_load(server, ["/missing"], concurrency=2, duration=1)

    assert good["tool"] == "wrk" and good["requests"] > 10 and good["errors"] == 0
    assert good["p50_ms"] <= good["p99_ms"]
    assert bad["errors"] > 0


def test_only_loopback_is_loaded():
    with pytest.raises(ValueError, match="loopback"):
        run_load("http://example.com", ["/"], duration=1)
    with pytest.raises(ValueError):
        run_load("http://127.0.0.1:1", ["/"], concurrency=500, duration=1)
