"""What every browser test shares: watching the console, and logging in by keyboard."""

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

__all__ = ["htmx_settled", "log_in", "log_in_by_keyboard", "real_problems"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def second_origin(tmp_path) -> str:
    """Another origin for pages that embed us (127.0.0.1 on a port of its own, the app being on localhost): a
    web server for the files the test writes into `tmp_path`. Yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def console_problems(page: Page) -> list[str]:
    """Console errors, CSP violations and uncaught exceptions seen while the test runs."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" or "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    # securitypolicyviolation events catch violations Chromium does not log, e.g. blocked inline styles.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return problems



def log_in_by_keyboard(page: Page, username: str, password: str) -> None:
    # The username field has focus on arrival: no clicks needed. Wait for that focus, or the first keys typed
    # before the page has focused the field are lost (CI once logged in as "_alice").
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    # Wait for the next page's load event: before it, htmx (a deferred script) has not wired the page up, and a
    # click on an hx-get link is a plain navigation (CI once opened the no-JS "Mark lost" page that way).
    with page.expect_navigation():
        page.keyboard.press("Enter")


def htmx_settled(page: Page) -> None:
    """Wait until htmx has finished its swaps and settles. htmx focuses a swapped-in [autofocus] element when the
    settle ends (20 ms after the swap), so text typed into another field before then can land in that one (CI once
    saved a stage called "140Meeting")."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def log_in(page: Page, live_server, username: str, password: str, next_url: str = "/") -> None:
    """Sign in through the login page and land on `next_url`."""
    page.goto(f"{live_server.url}/accounts/login/?next={quote(next_url)}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(live_server.url + next_url)
    page.wait_for_load_state()  # htmx is a deferred script: see log_in_by_keyboard


def real_problems(problems: list[str]) -> list[str]:
    """Console problems, less the failed-resource lines Chromium logs for the 400s and 422s forms answer on
    purpose when they come back with errors."""
    return [p for p in problems if "status of 400" not in p and "status of 422" not in p]
