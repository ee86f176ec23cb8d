"""Browser tests: Playwright (Python) driving Debian's chromium against the local runtime.

One runtime per pytest process (:class:`SharedRuntime`), started the way ``make run`` starts it
(a subprocess on free loopback ports with the demo directory and no demo tickets), serving the
built portal at /portal/. Starting one takes 15-40 s on a loaded machine, so the browser modules
share it, in any order: each arranges its own tickets, names and codes, asserts on what it
made, or on city-wide figures relative to what was there (or to what the tickets themselves hold),
and puts back any setting it changes (:meth:`Runtime.automatic_dispatch`). ``make test`` builds
portal/dist and installs chromium first; without them these tests fail with a pointer.
Screenshots are taken only when $PORTAL_SCREENSHOTS is set (``make screenshots`` ->
docs/screenshots/): in a normal run they prove nothing and cost a settle wait each.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
STARTUP_SECONDS = 180  # a deadline, not a wait: under `make test` the other worker may be starting one too
UI_TIMEOUT_MS = 30_000
SESSION_KEY = "complaint-platform-session"  # where the portal keeps who is signed in (portal/src/session.js)
SNAPSHOT_INTERVAL_SECONDS = 3600  # the runtime's saves of its (throwaway) data: none during a run
expect.set_options(timeout=UI_TIMEOUT_MS)  # a loaded 2-core machine is slow to draw; failures still fail


class Runtime:
    """A running local runtime: its base URL and an API shortcut for arranging data."""

    def __init__(self, base: str, process: subprocess.Popen) -> None:
        self.base = base
        self.process = process
        self._sessions: dict[str, dict] = {}

    def session(self, username: str) -> dict:
        """``username``'s signed-in session, ``{"token", "user"}`` as the login form receives it
        (asked once per runtime: every API call and browser tab of that user reuses it)."""
        if username not in self._sessions:
            answer = requests.post(f"{self.base}/auth/dev-login", json={"username": username}, timeout=10)
            assert answer.status_code == 200, answer.text
            self._sessions[username] = answer.json()
        return self._sessions[username]

    def token(self, username: str) -> str:
        return self.session(username)["token"]

    def call(self, method: str, path: str, user: str | None = None, expect: int | tuple[int, ...] = (200, 201),
             **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        answer = requests.request(method, f"{self.base}{path}", headers=headers, timeout=20, **kw)
        expected = (expect,) if isinstance(expect, int) else expect
        assert answer.status_code in expected, (method, path, answer.status_code, answer.text)
        return answer.json() if answer.content else None

    def leave_dispatch_to_dispatchers(self) -> None:
        """Turn the dispatch model's automatic dispatch off (where the API has it), so that every
        accepted ticket waits for a dispatcher, as the flows under test expect."""
        if "/admin/dispatch-settings" not in self.call("GET", "/openapi.json")["paths"]:
            return
        current = self.call("GET", "/admin/dispatch-settings", "admin")
        self.call("PUT", "/admin/dispatch-settings", "admin",
                  json={"auto_dispatch": False, "expected_version": current["_version"]})

    @contextmanager
    def automatic_dispatch(self) -> Iterator[None]:
        """Automatic dispatch on for the block, then the settings as they were (the runtime is
        shared: the next module expects accepted tickets to wait for a dispatcher)."""
        before = self.call("GET", "/admin/dispatch-settings", "admin")
        self.call("PUT", "/admin/dispatch-settings", "admin",
                  json={"auto_dispatch": True, "expected_version": before["_version"]})
        try:
            yield
        finally:
            current = self.call("GET", "/admin/dispatch-settings", "admin")
            self.call("PUT", "/admin/dispatch-settings", "admin", json={
                "auto_dispatch": before["auto_dispatch"], "min_probability": before["min_probability"],
                "exclude_channels": before["exclude_channels"], "expected_version": current["_version"]})

    def act(self, ticket_id: str, action: str, user: str, **params: Any) -> dict:
        return self.call("POST", f"/tickets/{ticket_id}/{action.replace('_', '-')}", user, json=params)


def _free_port() -> int:
    from chalicelib.local.runtime import free_port

    return free_port()


def _require_prerequisites() -> None:
    if not (ROOT / "portal" / "dist" / "index.html").exists():
        pytest.fail("portal/dist is not built: run `make portal/dist` (npm ci && npm run build in portal/)")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")


@contextmanager
def _started_runtime(data_dir: Path) -> Iterator[Runtime]:
    """A runtime subprocess on a free port with its data in ``data_dir``, stopped on exit."""
    _require_prerequisites()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT)
    env["DEMO_TICKETS"] = "0"  # no background demo seeding: each test arranges exactly the data it asserts on
    log = open(data_dir / "runtime.log", "w+", encoding="utf-8")
    # the data folder is thrown away: no periodic saves competing for the CPU while the tests run
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local", "run", "--port", str(port), "--data-dir", str(data_dir / "data"),
         "--reset", "--snapshot-interval", str(SNAPSHOT_INTERVAL_SECONDS)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"the runtime exited early:\n{log.read()[-4000:]}")
            try:
                # a loaded machine may take seconds to answer: a 1 s timeout could miss every answer
                if requests.get(f"{base}/health", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the runtime was not healthy within {STARTUP_SECONDS} s")
            time.sleep(0.2)
        running = Runtime(base, process)
        running.leave_dispatch_to_dispatchers()
        yield running
    finally:
        # its data is thrown away, so there is nothing to save: stopped at once (a graceful stop,
        # with the pump's grace period and the final save, took seconds more per runtime)
        process.kill()
        process.wait(timeout=30)
        log.close()


class SharedRuntime:
    """The runtime the browser modules of this pytest process share (under `make test`, of this
    xdist worker): started by the first module that needs it, stopped as soon as the next test to
    run here is not a browser test (an idle runtime still costs a fifth of a core: its event pump
    polls), and started again should another browser module come later."""

    def __init__(self) -> None:
        self._stack: ExitStack | None = None
        self._running: Runtime | None = None

    def get(self, data_dir: Callable[[], Path]) -> Runtime:
        """The running runtime, started with its data in ``data_dir()`` if there is none."""
        if self._running is None:
            stack = ExitStack()
            self._running = stack.enter_context(_started_runtime(data_dir()))
            self._stack = stack
        return self._running

    def stop(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._running = self._stack, None, None
            stack.close()


SHARED_RUNTIME = SharedRuntime()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    """The local runtime this module shares with the other browser modules of this process."""
    return SHARED_RUNTIME.get(lambda: tmp_path_factory.mktemp("runtime-data"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a browser test (and its fixtures' teardown): stop the runtime when the next test here
    is not a browser test. xdist tells a worker its next test before it runs one (None: the last)."""
    yield
    if nextitem is None or not Path(str(nextitem.path)).is_relative_to(Path(__file__).parent):
        SHARED_RUNTIME.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    SHARED_RUNTIME.stop()  # a run stopped early (-x, Ctrl-C) leaves no runtime behind


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (no downloaded browser builds)."""
    _require_prerequisites()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path | None:
    """Where :meth:`Screen.shot` saves: $PORTAL_SCREENSHOTS, or None (no screenshots) when unset."""
    configured = os.environ.get("PORTAL_SCREENSHOTS")
    if not configured:
        return None
    folder = Path(configured)
    if not folder.is_absolute():
        folder = ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Screen:
    """One person's browser tab on the portal, with helpers for Element Plus widgets."""

    def __init__(self, page: Any, base: str, runtime: Runtime | None = None) -> None:
        self.page = page
        self.base = base
        self.runtime = runtime
        self.errors: list[str] = []
        self.refused: list[str] = []  # API calls the portal made that the role may not make (403)
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("response", lambda r: self.refused.append(r.url) if r.status == 403 else None)

    def open(self, path: str) -> "Screen":
        self.page.goto(f"{self.base}/portal{path}")
        return self

    def by(self, testid: str) -> Any:
        return self.page.get_by_test_id(testid)

    def field(self, testid: str, scope: Any = None) -> Any:
        """The native input/textarea of an Element Plus field (the test id is on it or around it)."""
        css = f'[data-testid="{testid}"]:is(input, textarea), [data-testid="{testid}"] :is(input, textarea)'
        return (scope or self.page).locator(css).first

    def fill(self, testid: str, text: str, scope: Any = None) -> None:
        """Type into an el-input or textarea."""
        self.field(testid, scope).fill(text)

    def choose(self, testid: str, option: str, scope: Any = None, *, search: str | None = None,
               multiple: bool = False) -> None:
        """Pick ``option`` in an el-select, typing ``search`` first when it is filterable; a single
        select's list is waited out of sight (a multiple one stays open for the next pick)."""
        select = (scope or self.page).get_by_test_id(testid)
        select.click()
        if search:
            self.field(testid, scope).fill(search)
        listbox_id = select.locator("input[role=combobox]").first.get_attribute("aria-controls")
        listbox = self.page.locator(f'[id="{listbox_id}"]')  # this select's own list, not one fading out
        item = listbox.locator(".el-select-dropdown__item").filter(has_text=option).first
        item.click()
        if multiple:
            return
        for _ in range(2):  # a click landing while the list still slides open (a loaded machine) is lost
            try:
                listbox.wait_for(state="hidden", timeout=10_000)
                return
            except PlaywrightTimeout:
                if listbox.is_visible():
                    item.click()
        listbox.wait_for(state="hidden")

    def choose_category(self, testid: str, search: str, scope: Any = None) -> None:
        """Pick a category in the category cascader by typing ``search`` and taking the first
        suggestion (the entry of that name comes before the entries under it)."""
        field = self.field(testid, scope)
        field.click()
        field.fill(search)
        self.page.locator(".el-cascader__suggestion-item:visible").filter(has_text=search).first.click()

    def dialog(self, action: str) -> Any:
        """The open dialog of ``action``, once its opening animation has ended (a click during the
        animation lands on a moving target)."""
        dialog = self.page.get_by_test_id(f"dialog-{action}")
        expect(dialog).to_have_attribute("data-ready", "true")
        return dialog

    def submit_dialog(self, action: str) -> None:
        """Press the dialog's confirm button; fail with the dialog's error message if it shows one."""
        dialog = self.dialog(action)
        dialog.get_by_test_id("action-submit").click()
        error = dialog.get_by_test_id("action-error")
        self.page.wait_for_function(
            "([d, e]) => !document.querySelector(d) || document.querySelector(d).offsetParent === null"
            " || document.querySelector(e)",
            arg=[f'[data-testid="dialog-{action}"]', f'[data-testid="dialog-{action}"] [data-testid="action-error"]'])
        if error.count():
            raise AssertionError(f"{action} failed in the browser: {error.inner_text()}")
        dialog.wait_for(state="hidden")

    def sign_in(self, username: str, at: str = "/", *, by_form: bool = False) -> "Screen":
        """Signed in as ``username``, on the page ``at`` (``/``: the role's workbench).

        ``by_form``: through the login form, by keyboard (type, Enter), landing on the workbench;
        the tests that prove the form use it. Otherwise the session the form would store is put in
        the tab's sessionStorage before the portal's first script runs, and ``at`` opens directly:
        one page load instead of the login page, the workbench, then the page the test is about."""
        if by_form:
            self.open("/login")
            field = self.field("login-username")
            field.fill(username)
            field.press("Enter")
        else:
            assert self.runtime is not None, "a Screen made without its runtime can only sign in by the form"
            stored = json.dumps(json.dumps(self.runtime.session(username)))
            # only into an empty slot: a session the portal changed (expired, signed out) stays as it left it
            self.page.add_init_script(
                f"if (location.origin === {json.dumps(self.base)} && !sessionStorage.getItem({json.dumps(SESSION_KEY)}))"
                f" sessionStorage.setItem({json.dumps(SESSION_KEY)}, {stored})")
            self.open(at)
        self.by("current-user").wait_for()
        return self

    def shot(self, folder: Path | None, name: str) -> Path | None:
        """Save a screenshot of the page as ``name``.png in ``folder``; nothing when ``folder`` is None
        (a normal run: the screenshots are for ``make screenshots``, and waiting for the page to
        settle before each cost seconds)."""
        if folder is None:
            return None
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_timeout(400)  # let Element Plus's transitions (tabs, dropdowns) settle
        path = folder / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


@pytest.fixture
def screens(browser: Any, runtime: Runtime) -> Iterator[Any]:
    """Factory: ``screens()`` (1366x768) or ``screens("phone")`` opens a fresh browser context (its own session).
    A context each, not tabs of one: a background tab is hidden, and Element Plus's transitions,
    which wait for animation frames, stall in it (a select's list took 8 s to close)."""
    contexts = []

    def make(viewport: str = "desktop") -> Screen:
        size = {"desktop": DESKTOP, "phone": PHONE}[viewport]
        context = browser.new_context(viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      is_mobile=viewport == "phone", has_touch=viewport == "phone")
        contexts.append(context)
        return Screen(context.new_page(), runtime.base, runtime)

    yield make
    for context in contexts:
        context.close()
