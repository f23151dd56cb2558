"""Headless Chromium driven over the DevTools protocol, to test the Snakemake HTML report.

No browser-automation package: Chromium runs with ``--remote-debugging-pipe`` and talks
CDP as NUL-terminated JSON over its fds 3 (it reads) and 4 (it writes). `Browser` opens
pages, evaluates JavaScript, clicks, takes screenshots and collects every console error and
uncaught exception; `check_report` walks a report the way a reader does and says which
entries do not show.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# The sandbox's closed network refuses connections unless all of these are given.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


def chromium_path() -> str | None:
    """Debian's Chromium, else whatever `chromium` is on PATH; None when there is none."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


requires_chromium = pytest.mark.skipif(
    chromium_path() is None,
    reason="needs Chromium (/usr/bin/chromium or `chromium` on PATH; Debian package "
           "`chromium`) for the real-browser test of the report")


class BrowserError(RuntimeError):
    """Chromium died, refused a command, or a page's JavaScript threw while we evaluated."""


class BrowserTimeout(BrowserError, TimeoutError):
    """Something awaited in the browser did not happen in time."""


def _high_fd(fd: int) -> int:
    """A copy of `fd` numbered >= 10, so dup2 onto 3 and 4 in the child cannot clobber it."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


def _remote_text(obj: dict) -> str:
    """A console argument or exception as text (a RemoteObject's value or description)."""
    if "value" in obj:
        return str(obj["value"])
    return str(obj.get("description") or obj.get("unserializableValue") or obj.get("type"))


class Browser:
    """One headless Chromium with one page, driven over CDP; a context manager.

    `errors` collects, as text, every uncaught exception, console.error / console.assert
    and error-level log entry (failed loads, CSP, ...) of the page and its frames.
    """

    def __init__(self, executable: str | None = None, width: int = 1280, height: int = 900,
                 timeout: float = 30.0):
        self.executable = executable or chromium_path()
        if self.executable is None:
            raise BrowserError("Chromium not found (/usr/bin/chromium or `chromium` on PATH)")
        self.width, self.height, self.timeout = width, height, timeout
        self.errors: list[str] = []
        self.session: str | None = None   # the page's flat session
        self.contexts: dict[str, tuple[str | None, int]] = {}  # frameId -> (session, ctx)
        self._proc: subprocess.Popen | None = None
        self._profile: str | None = None
        self._to_browser = self._from_browser = -1
        self._buffer = b""
        self._next_id = 0
        self._responses: dict[int, dict] = {}
        self._events: list[dict] = []
        self._new_children: list[str] = []   # sessions of out-of-process frames to enable

    # -- life cycle -------------------------------------------------------------------
    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start Chromium with a fresh profile, open a blank page and enable its events."""
        self._profile = tempfile.mkdtemp(prefix="report-browser-")
        child_in, self._to_browser = os.pipe()
        self._from_browser, child_out = os.pipe()
        child_in, child_out = _high_fd(child_in), _high_fd(child_out)

        def wire_fds() -> None:   # in the child: its CDP pipe is fds 3 (in) and 4 (out)
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        command = [self.executable, *CHROMIUM_FLAGS, "--remote-debugging-pipe",
                   f"--user-data-dir={self._profile}", f"--window-size={self.width},{self.height}",
                   "--hide-scrollbars", "--mute-audio", "about:blank"]
        log = open(os.path.join(self._profile, "chromium.log"), "wb")
        try:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                pass_fds=(3, 4), preexec_fn=wire_fds, start_new_session=True)
        finally:
            log.close()
            os.close(child_in)
            os.close(child_out)
        try:
            target = self.send("Target.createTarget", {"url": "about:blank"}, session=None)
            attached = self.send("Target.attachToTarget",
                                 {"targetId": target["targetId"], "flatten": True}, session=None)
            self.session = attached["sessionId"]
            self._enable(self.session)
            self.send("Page.enable")
            self.send("Target.setAutoAttach", {"autoAttach": True, "flatten": True,
                                               "waitForDebuggerOnStart": False})
            self.set_viewport(self.width, self.height)
        except BaseException:
            self.close()
            raise

    def _enable(self, session: str) -> None:
        self.send("Runtime.enable", session=session)
        self.send("Log.enable", session=session)

    def close(self) -> None:
        """Close Chromium (kill it, and its process group, if it lingers); drop the profile."""
        if self._proc is not None:
            if self._proc.poll() is None:
                try:
                    self.send("Browser.close", session=None, timeout=5)
                except BrowserError:
                    pass
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            try:   # helpers (zygote, renderers) share the browser's own process group
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None
        for fd in (self._to_browser, self._from_browser):
            if fd >= 0:
                os.close(fd)
        self._to_browser = self._from_browser = -1
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def log_tail(self, chars: int = 2000) -> str:
        """The end of Chromium's own stderr, for error messages."""
        if self._profile is None:
            return ""
        try:
            return Path(self._profile, "chromium.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- protocol ---------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, session: str | None = "",
             timeout: float | None = None) -> dict:
        """Send one CDP command (to the page's session unless `session` says otherwise)
        and wait for its result."""
        if session == "":
            session = self.session
        self._next_id += 1
        message: dict = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._to_browser, data):]
        except OSError as error:
            raise BrowserError(f"Chromium's pipe is closed ({error}): {self.log_tail()}") \
                from error
        ident = self._next_id
        self._pump(lambda: ident in self._responses, timeout, f"the reply to {method}")
        reply = self._responses.pop(ident)
        if "error" in reply:
            raise BrowserError(f"{method} failed: {reply['error'].get('message')} "
                               f"{reply['error'].get('data', '')}".strip())
        return reply.get("result", {})

    def _pump(self, done: Callable[[], bool], timeout: float | None, what: str) -> None:
        """Read messages from Chromium until `done()` holds or `timeout` seconds pass."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserTimeout(f"timed out after {timeout or self.timeout:g} s "
                                     f"waiting for {what}")
            ready, _, _ = select.select([self._from_browser], [], [], min(left, 0.5))
            if not ready:
                if self._proc is not None and self._proc.poll() is not None:
                    raise BrowserError(f"Chromium exited ({self._proc.returncode}) while "
                                       f"waiting for {what}: {self.log_tail()}")
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium closed its pipe while waiting for {what}: "
                                   f"{self.log_tail()}")
            self._buffer += chunk
            *messages, self._buffer = self._buffer.split(b"\0")
            for raw in messages:
                self._dispatch(json.loads(raw))

    def _dispatch(self, message: dict) -> None:
        """Keep replies by id; record errors and frame contexts from events as they come."""
        if "id" in message:
            self._responses[message["id"]] = message
            return
        method, params = message.get("method", ""), message.get("params", {})
        session = message.get("sessionId")
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = _remote_text(details["exception"]) if "exception" in details \
                else details.get("text", "")
            where = f" ({details.get('url', '')}:{details.get('lineNumber', 0) + 1})" \
                if details.get("url") else ""
            self.errors.append(f"uncaught exception: {text}{where}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(_remote_text(arg) for arg in params.get("args", []))
            self.errors.append(f"console.{params['type']}: {text}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            url = entry.get("url", "")
            self.errors.append(f"log error ({entry.get('source')}): {entry.get('text')}"
                               + (f" [{url[:120]}]" if url else ""))
        elif method == "Runtime.executionContextCreated":
            context = params["context"]
            aux = context.get("auxData", {})
            if aux.get("isDefault") and aux.get("frameId"):
                self.contexts[aux["frameId"]] = (session, context["id"])
        elif method == "Runtime.executionContextDestroyed":
            ctx = params.get("executionContextId")
            for frame, (owner, ident) in list(self.contexts.items()):
                if owner == session and ident == ctx:
                    del self.contexts[frame]
        elif method == "Runtime.executionContextsCleared":
            for frame, (owner, _) in list(self.contexts.items()):
                if owner == session:
                    del self.contexts[frame]
        elif method == "Target.attachedToTarget":   # an out-of-process iframe
            self._new_children.append(params["sessionId"])
        else:
            self._events.append(message)
            del self._events[:-1000]   # nobody waits for most events: keep the recent ones

    def _attach_children(self) -> None:
        """Enable events in frames that Chromium put in their own process."""
        while self._new_children:
            child = self._new_children.pop(0)
            try:
                self._enable(child)
                self.send("Runtime.runIfWaitingForDebugger", session=child)
            except BrowserError:
                pass   # the frame went away meanwhile

    def wait_event(self, method: str, timeout: float | None = None,
                   where: Callable[[dict], bool] = lambda params: True) -> dict:
        """Wait for (and consume) the next event `method` whose params satisfy `where`."""
        found: list[dict] = []

        def seen() -> bool:
            for i, event in enumerate(self._events):
                if event.get("method") == method and where(event.get("params", {})):
                    found.append(self._events.pop(i)["params"])
                    return True
            return False

        self._pump(seen, timeout, f"the event {method}")
        return found[0]

    # -- page -------------------------------------------------------------------------
    def set_viewport(self, width: int, height: int) -> None:
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def open(self, url: str | Path, timeout: float | None = None) -> None:
        """Load `url` (a Path becomes a file:// URL) and wait for its load event."""
        if isinstance(url, Path):
            url = url.resolve().as_uri()
        self._events.clear()
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"cannot open {url}: {result['errorText']}")
        self.wait_event("Page.loadEventFired", timeout)
        self._events.clear()

    def evaluate(self, expression: str, timeout: float | None = None,
                 frame: str | None = None):
        """The value of a JavaScript expression (promises awaited), in the page or in
        the frame with id `frame`; a thrown error becomes BrowserError."""
        params: dict = {"expression": expression, "awaitPromise": True, "returnByValue": True,
                        "userGesture": True}
        session = ""
        if frame is not None:
            session, params["contextId"] = self.frame_context(frame, timeout)
        result = self.send("Runtime.evaluate", params, session=session, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = _remote_text(details["exception"]) if "exception" in details \
                else details.get("text")
            raise BrowserError(f"JavaScript error in {expression[:80]!r}: {text}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float | None = None, what: str = "",
                 frame: str | None = None, poll: float = 0.05):
        """Poll `expression` until it is truthy; its value, or BrowserTimeout naming `what`."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            value = self.evaluate(expression, timeout=limit, frame=frame)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise BrowserTimeout(f"timed out after {limit:g} s waiting for "
                                     f"{what or expression[:80]}")
            try:   # keep reading events (errors, contexts) while we wait
                self._pump(lambda: False, poll, "")
            except BrowserTimeout:
                pass

    def frame_of(self, element_expression: str) -> str:
        """The frame id of the <iframe> element that `element_expression` evaluates to."""
        found = self.send("Runtime.evaluate", {"expression": element_expression})
        obj = found.get("result", {})
        if obj.get("subtype") != "node":
            raise BrowserError(f"{element_expression[:80]!r} is not an element")
        node = self.send("DOM.describeNode", {"objectId": obj["objectId"]})["node"]
        self.send("Runtime.releaseObject", {"objectId": obj["objectId"]})
        if "frameId" not in node:
            raise BrowserError(f"{element_expression[:80]!r} is not a frame owner")
        return node["frameId"]

    def frame_context(self, frame: str, timeout: float | None = None) -> tuple[str | None, int]:
        """(session, execution context) of frame `frame`'s main world, once it exists."""
        def ready() -> bool:
            self._attach_children()
            return frame in self.contexts

        self._pump(ready, timeout, f"a JavaScript context in frame {frame}")
        return self.contexts[frame]

    def click(self, x: float, y: float) -> None:
        """A real left click (press and release) at viewport coordinates."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                    "button": "left", "clickCount": 1})

    def screenshot(self, path: str | Path, width: int | None = None,
                   height: int | None = None) -> Path:
        """Save the viewport (at `width` x `height` if given, then restored) as a PNG."""
        path = Path(path)
        resized = (width or self.width, height or self.height) != (self.width, self.height)
        if resized:
            self.set_viewport(width or self.width, height or self.height)
        try:
            data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        finally:
            if resized:
                self.set_viewport(self.width, self.height)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def settle(self, seconds: float = 0.1) -> None:
        """Process events for a moment (late console errors, new frames)."""
        try:
            self._pump(lambda: False, seconds, "")
        except BrowserTimeout:
            pass


# -- the Snakemake report -----------------------------------------------------------------

# Helpers put into the report page: they find what a reader would click and say where it is.
_REPORT_HELPERS = r"""
window.__rb = {
  nav() { return document.querySelector('#app nav'); },
  content() { return document.querySelector('#app > div > nav + div'); },
  state() {
    const s = app.state;
    return {mode: s.navbarMode, category: s.category || null, subcategory: s.subcategory || null,
            content: s.content, path: s.resultPath || null, trigger: s.renderTrigger ?? null};
  },
  entries() {
    const text = (html) => new DOMParser().parseFromString(html || '', 'text/html')
        .body.textContent.replace(/\s+/g, ' ').trim();
    const out = [];
    for (const [category, subs] of Object.entries(categories)) {
      for (const [subcategory, paths] of Object.entries(subs)) {
        for (const path of paths) {
          const r = results[path];
          out.push({category, subcategory, path, known: !!r, name: r ? r.name : '',
                    mime_type: r ? r.mime_type : '', labels: r ? (r.labels || null) : null,
                    caption: r ? text(r.caption) : ''});
        }
      }
    }
    const listed = new Set(out.map((e) => e.path));
    return {entries: out, unlisted: Object.keys(results).filter((p) => !listed.has(p)),
            single: Object.keys(categories).length === 1};
  },
  // Scroll `el` into view and give its centre once it stands still, and whether a click
  // there reaches it. The navbar's width is a CSS transition: finish it rather than wait.
  async point(el, what) {
    if (!el) return {missing: what};
    const frame = () => new Promise((ok) => {
      requestAnimationFrame(ok);
      setTimeout(ok, 50);
    });
    let last = null;
    for (let i = 0; i < 100; i++) {
      el.getBoundingClientRect();   // lay out first, so that pending transitions start
      for (const a of document.getAnimations()) {
        const target = a.effect && a.effect.target;
        if (a.playState === 'running' && target && target !== el && target.contains(el)
            && a.effect.getTiming().iterations !== Infinity) a.finish();
      }
      el.scrollIntoView({block: 'center', inline: 'nearest'});
      const box = el.getBoundingClientRect();
      const key = [box.left, box.top, box.width, box.height].join();
      if (key === last) break;
      last = key;
      await frame();
    }
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    const reaches = !!hit && (hit === el || el.contains(hit));
    return {x, y, reaches, w: r.width, h: r.height,
            hit: hit ? hit.outerHTML.slice(0, 160) : null, what};
  },
  homeLink() {
    const crumbs = this.nav().querySelector('nav ol');
    return this.point(crumbs && crumbs.querySelector('li a'), 'the home link of the breadcrumbs');
  },
  menuItem(label) {
    const links = [...this.nav().querySelectorAll('ul > li > a')].filter((a) => {
      const span = a.querySelector('span');
      return span && span.textContent === label;
    });
    return this.point(links[links.length - 1], `the menu item "${label}"`);
  },
  // The row of `path` in the navbar's results table: a toggle to flip first, or its eye button.
  async row(path) {
    const nav = this.nav(), table = nav.querySelector('table'), entry = results[path];
    if (!table) return {missing: 'the results table in the navbar'};
    for (const set of nav.querySelectorAll('fieldset')) {
      const name = set.querySelector('span').textContent;
      const want = entry.labels ? String(entry.labels[name]) : undefined;
      const input = [...set.querySelectorAll('input')].find((i) => i.value === want);
      if (input && !input.checked) {
        const spot = await this.point(input.closest('label'), `the toggle ${name}=${want}`);
        return {toggle: name, ...spot};
      }
    }
    const s = app.state;
    const paths = categories[s.category][s.subcategory];
    const labelled = paths.every((p) => results[p].labels);
    const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent).slice(0, -1);
    const expected = labelled ? heads.map((h) => String(entry.labels[h] || '')) : [path];
    const rows = [...table.querySelectorAll('tbody tr')].filter((tr) => {
      const cells = [...tr.children].slice(0, -1).map((td) => td.textContent);
      return JSON.stringify(cells) === JSON.stringify(expected);
    });
    if (rows.length !== 1) return {rows: rows.length, expected};
    const eye = rows[0].lastElementChild.querySelector('a');
    if (!eye) return {missing: 'the view button of the row'};
    if (eye.hasAttribute('download')) return {download: eye.getAttribute('download')};
    return this.point(eye, 'the view (eye) button');
  },
  async image(path) {
    const img = this.content().querySelector('img');
    if (!img || img.getAttribute('src') !== results[path].data_uri) return null;
    try { await img.decode(); } catch (error) { return {broken: String(error)}; }
    const r = img.getBoundingClientRect();
    return {w: img.naturalWidth, h: img.naturalHeight, shown: [r.width, r.height]};
  },
  iframe(path) {
    const frame = this.content().querySelector('iframe');
    if (!frame || frame.getAttribute('src') !== results[path].data_uri) return null;
    const r = frame.getBoundingClientRect();
    return {shown: [r.width, r.height]};
  },
};
true
"""

# Run inside an entry's iframe once its document has loaded.
_FRAME_CONTENT = r"""
(async () => {
  const images = [...document.images];
  await Promise.all(images.map((i) => i.decode().catch(() => null)));
  const tables = [...document.querySelectorAll('table')];
  const rows = tables.reduce((n, t) => n + [...t.querySelectorAll('tr')]
      .filter((tr) => tr.querySelector('td')).length, 0);
  return {tables: tables.length, rows,
          images: images.map((i) => [i.naturalWidth, i.naturalHeight]),
          embeds: document.querySelectorAll('embed, object').length,
          text: document.body ? document.body.innerText.length : 0};
})()
"""

_FRAME_LOADED = "location.protocol === 'data:' && document.readyState === 'complete'"


@dataclass
class EntryCheck:
    """What a reader sees for one report entry; `problems` empty means it shows properly."""

    category: str
    subcategory: str
    path: str
    name: str
    mime_type: str
    kind: str                      # image | html | pdf | download (a download link only)
    labels: dict | None
    caption: str                   # the caption as plain text
    width: int | None = None       # the image's natural size (an <img> in html too)
    height: int | None = None
    rows: int | None = None        # data rows of the html's tables
    shown: tuple[int, int] | None = None   # the <img> / <iframe> box on screen, in px
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # console errors while it was shown
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and not self.errors

    @property
    def size(self) -> str:
        parts = []
        if self.width is not None:
            parts.append(f"{self.width}x{self.height}")
        if self.rows is not None:
            parts.append(f"{self.rows} rows")
        return ", ".join(parts)


@dataclass
class ReportCheck:
    """The result of `check_report`: every entry, every console error, the home page text."""

    report: Path
    home_text: str
    entries: list[EntryCheck]
    errors: list[str]              # every console error / exception, as "[where] text"
    problems: list[str]            # report-wide problems (unlisted results, a broken menu)
    seconds: float
    screenshots: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures()

    def failures(self) -> list[str]:
        """Every problem and error as one line each, for an assertion message."""
        lines = list(self.problems)
        for entry in self.entries:
            lines += [f"{entry.path}: {problem}" for problem in entry.problems]
        return lines + self.errors

    def counts(self) -> dict[str, dict[str, int]]:
        """{category: {"entries": n, "ok": shown properly, "failed": with a problem}}."""
        out: dict[str, dict[str, int]] = {}
        for entry in self.entries:
            row = out.setdefault(entry.category, {"entries": 0, "ok": 0, "failed": 0})
            row["entries"] += 1
            row["ok" if entry.ok else "failed"] += 1
        return out

    def summary(self) -> str:
        lines = [f"{self.report}: {len(self.entries)} entries in {self.seconds:.1f} s"]
        for category, row in self.counts().items():
            lines.append(f"  {category}: {row['ok']}/{row['entries']} shown properly")
        failures = self.failures()
        lines += [f"  FAIL {line}" for line in failures[:60]]
        if len(failures) > 60:
            lines.append(f"  ... and {len(failures) - 60} more")
        return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "entry"


def _label_problems(labels) -> list[str]:
    """Labels are the navbar's columns: each entry needs some, and words, not paths."""
    if not labels:
        return ["has no labels (the navbar shows its raw path)"]
    problems = []
    for key, value in labels.items():
        if not isinstance(value, str) or not value.strip():
            problems.append(f"label {key!r} is empty ({value!r})")
        elif "/" in value:
            problems.append(f"label {key}={value!r} is a path, not words")
    return problems


class ReportProblem(Exception):
    """A reader could not get to, or could not see, an entry (recorded, not raised)."""


class _ReportWalker:
    """Click through a loaded report like a reader: menu, category, subcategory, eye."""

    def __init__(self, browser: Browser, timeout: float):
        self.b, self.timeout = browser, timeout

    def click(self, locate: str, what: str) -> None:
        """Click the element that the helper call `locate` finds, with a real mouse click."""
        spot = self.b.evaluate(f"__rb.{locate}")
        if spot.get("missing"):
            raise ReportProblem(f"cannot find {spot['missing']}")
        if not spot["reaches"]:
            raise ReportProblem(f"{spot['what']} is covered at ({spot['x']:.0f}, "
                                f"{spot['y']:.0f}) by {spot['hit']}")
        self.b.click(spot["x"], spot["y"])

    def until(self, expression: str, what: str, timeout: float | None = None):
        return self.b.wait_for(expression, timeout or self.timeout, what)

    def show_subcategory(self, category: str, subcategory: str, single: bool) -> None:
        """From wherever the reader is: home, the category, then (if needed) the subcategory."""
        state = self.b.evaluate("__rb.state()")
        if state["mode"] != "menu":
            self.click("homeLink()", "home")
            self.until("__rb.state().mode === 'menu'", "the menu after clicking home")
        self.click(f"menuItem({json.dumps('Results' if single else category)})", category)
        cat = json.dumps(category)
        self.until(f"['category', 'subcategory'].includes(__rb.state().mode) && "
                   f"__rb.state().category === {cat}", f"category {category!r} to open")
        if self.b.evaluate("__rb.state().mode") == "category":
            self.click(f"menuItem({json.dumps(subcategory)})", subcategory)
        self.until(f"__rb.state().mode === 'subcategory' && __rb.state().category === {cat} && "
                   f"__rb.state().subcategory === {json.dumps(subcategory)}",
                   f"subcategory {subcategory!r} to open")

    def show_entry(self, entry: EntryCheck) -> None:
        """Click the entry's eye button and check that the content area shows it."""
        path = json.dumps(entry.path)
        for _ in range(4):   # flip label toggles until the entry's row is in the table
            row = self.b.evaluate(f"__rb.row({path})")
            if not row.get("toggle"):
                break
            self.click(f"row({path})", "toggle")
            self.b.settle(0.05)
        else:
            raise ReportProblem(f"the toggle {row['toggle']!r} does not switch to its row")
        if row.get("missing"):
            raise ReportProblem(f"cannot find {row['missing']}")
        if "rows" in row:
            raise ReportProblem(f"{row['rows']} rows of the navbar's table read "
                                f"{row['expected']} (the entry's labels), not one")
        if "download" in row:
            entry.problems.append(f"download-only: its view button downloads "
                                  f"{row['download']!r} ({entry.mime_type or 'no mime type'} "
                                  f"is not shown in the report)")
            return
        before = self.b.evaluate("__rb.state().trigger")
        self.click(f"row({path})", "the view button")
        # every view button click draws a new render trigger; then see whom it selected
        shown = self.until(f"__rb.state().trigger !== {json.dumps(before)} && "
                           "[__rb.state().path]", "its view button to select it")[0]
        if shown != entry.path:
            raise ReportProblem(f"its row's view button shows {shown} instead (rows whose "
                                "labels are the same collapse into one)")
        if entry.kind == "image":
            self.check_image(entry, path)
        else:
            self.check_frame(entry, path)

    def check_image(self, entry: EntryCheck, path: str) -> None:
        image = self.until(f"__rb.state().content === 'img' && __rb.image({path})",
                           "its <img> in the content area")
        if image.get("broken"):
            entry.problems.append(f"its image does not load: {image['broken']}")
            return
        entry.width, entry.height = image["w"], image["h"]
        entry.shown = (round(image["shown"][0]), round(image["shown"][1]))
        if not image["w"] or not image["h"]:
            entry.problems.append(f"its image has no size ({image['w']}x{image['h']})")
        elif not all(image["shown"]):
            entry.problems.append(f"its image takes no room on screen ({image['shown']})")

    def check_frame(self, entry: EntryCheck, path: str) -> None:
        box = self.until(f"__rb.state().content === {json.dumps(entry.kind)} && "
                         f"__rb.iframe({path})", "its <iframe> in the content area")
        entry.shown = (round(box["shown"][0]), round(box["shown"][1]))
        if not all(box["shown"]):
            entry.problems.append(f"its iframe takes no room on screen ({box['shown']})")
        frame = self.b.frame_of("__rb.content().querySelector('iframe')")
        deadline = time.monotonic() + self.timeout
        while True:   # the frame's first context is about:blank, then the data: document's
            try:
                if self.b.evaluate(_FRAME_LOADED, timeout=self.timeout, frame=frame):
                    break
            except BrowserTimeout:
                raise
            except BrowserError:
                pass   # the context went away under us; take the next one
            if time.monotonic() > deadline:
                raise BrowserTimeout(f"timed out after {self.timeout:g} s waiting for its "
                                     "iframe's document to load")
            self.b.settle(0.05)
        found = self.b.evaluate(_FRAME_CONTENT, timeout=self.timeout, frame=frame)
        if entry.kind == "pdf":
            if not (found["embeds"] or found["text"] or found["images"]):
                entry.problems.append("its PDF frame is empty")
            return
        loaded = [size for size in found["images"] if size[0] and size[1]]
        if found["rows"] or found["tables"]:
            entry.rows = found["rows"]
        if loaded:
            entry.width, entry.height = loaded[0]
        if not found["rows"] and not loaded:
            entry.problems.append(
                f"renders empty: its iframe holds no table rows ({found['tables']} tables) "
                f"and no loaded image ({len(found['images'])} <img>)")


_KINDS = {"image/png": "image", "image/jpeg": "image", "image/svg+xml": "image",
          "text/html": "html", "application/pdf": "pdf"}


def check_report(report_html: Path, screenshots: Path | None = None, timeout: float = 20.0,
                 browser: Browser | None = None) -> ReportCheck:
    """Open a Snakemake report in Chromium and show every entry of every (sub)category
    the way a reader does; record what each shows and every problem and console error.

    An entry passes when its view button puts, in the content area, an <img> that loads
    with a size, or an <iframe> whose document holds a table row or a loaded image; an
    entry whose mime type the report cannot show (a download link only) fails, as do
    missing or path-like labels. With `screenshots`, the home page and each entry shown
    are saved there as PNGs.
    """
    report_html = Path(report_html)
    started = time.monotonic()
    own = browser is None
    b = browser if browser is not None else Browser(timeout=max(timeout, 30.0))
    if own:
        b.start()
    try:
        return _check(b, report_html, screenshots, timeout, started)
    finally:
        if own:
            b.close()


def _check(b: Browser, report_html: Path, screenshots: Path | None, timeout: float,
           started: float) -> ReportCheck:
    errors: list[str] = []
    mark = len(b.errors)

    def take(where: str) -> list[str]:
        nonlocal mark
        new = b.errors[mark:]
        mark = len(b.errors)
        errors.extend(f"[{where}] {text}" for text in new)
        return new

    b.open(report_html, timeout=max(timeout, 60.0))
    b.wait_for("typeof app !== 'undefined' && !!document.querySelector('#app nav')",
               timeout, "the report's app to render its navbar")
    b.evaluate(_REPORT_HELPERS)
    b.wait_for("!!__rb.content()", timeout, "the report's content area")
    b.settle(0.3)   # let the home page's charts draw
    home_text = b.evaluate("__rb.content().innerText").strip()
    shots: list[Path] = []
    if screenshots is not None:
        shots.append(b.screenshot(Path(screenshots) / "00_home.png"))
    take("home")

    listing = b.evaluate("__rb.entries()")
    problems = [f"{path}: in no category, so no menu leads to it"
                for path in listing["unlisted"]]
    names = [e["name"] for e in listing["entries"]]
    walker = _ReportWalker(b, timeout)
    entries: list[EntryCheck] = []
    current: tuple[str, str] | None = None
    for index, raw in enumerate(listing["entries"], start=1):
        entry = EntryCheck(
            category=raw["category"], subcategory=raw["subcategory"], path=raw["path"],
            name=raw["name"], mime_type=raw["mime_type"],
            kind=_KINDS.get(raw["mime_type"], "download"), labels=raw["labels"],
            caption=raw["caption"])
        entries.append(entry)
        if not raw["known"]:
            entry.problems.append("listed in its category but missing from the results")
            continue
        entry.problems += _label_problems(entry.labels)
        try:
            if current != (entry.category, entry.subcategory):
                current = None
                walker.show_subcategory(entry.category, entry.subcategory, listing["single"])
                current = (entry.category, entry.subcategory)
            walker.show_entry(entry)
            b.settle(0.05)
        except (ReportProblem, BrowserTimeout) as error:
            entry.problems.append(f"not shown: {error}")
            current = None
        except BrowserError as error:   # the page's own JavaScript failed, not the browser
            if b._proc is None or b._proc.poll() is not None:
                raise
            entry.problems.append(f"not shown: {error}")
            current = None
        if screenshots is not None and entry.kind != "download":
            stem = entry.name if names.count(entry.name) == 1 else entry.path
            stem = _slug(stem.rsplit(".", 1)[0])
            entry.screenshot = b.screenshot(Path(screenshots) / f"{index:02d}_{stem}.png")
            shots.append(entry.screenshot)
        entry.errors = take(entry.path)
    b.settle(0.2)
    take("end")
    return ReportCheck(report=report_html, home_text=home_text, entries=entries, errors=errors,
                       problems=problems, seconds=time.monotonic() - started, screenshots=shots)
