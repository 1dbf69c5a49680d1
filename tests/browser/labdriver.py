"""Drive JupyterLab in a real Chromium and check what a learner sees.

Three parts, used by ``conftest.py`` and the tests beside it:

* :class:`LabServer` starts one JupyterLab on a free loopback port, with
  throwaway config/runtime/data/IPython dirs, on a scratch copy of the
  repository, and stops it (and every kernel it started) afterwards.
* :class:`NetworkGuard` aborts every request of a browser context that
  leaves loopback, and remembers it so the test can fail.
* :class:`LabPage` does, in one JupyterLab tab, what a learner does: open a
  notebook, "Run All Cells", look at the outputs, move a slider and watch
  the chart; :func:`render_problems` turns what it saw into findings.

The check functions *return* findings (lists of problems, slider results)
rather than assert, so the self-test can show that they report a broken
notebook as broken.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

# The launch that works with Debian's chromium: headless, no sandbox (it
# cannot start one as root), no GPU, nothing that phones home on start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

VIEWPORT = {"width": 1280, "height": 900}

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# Text that JupyterLab, ipywidgets or altair's HTML renderer put on the page
# when something could not be shown.
FAILURE_TEXTS = (
    "Error loading script",  # altair/vega-embed HTML renderer, script blocked
    "Javascript Error",  # a JupyterLab renderer threw
    "Error displaying widget",  # ipywidgets: model missing or view failed
    "Loading widget...",  # ipywidgets: the view never arrived
    "Failed to display Jupyter Widget",  # ipywidgets 7 style fallback text
)


def find_chromium() -> str | None:
    """Path of the chromium binary: $CHROMIUM, else `chromium` on PATH."""
    candidate = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if candidate and os.access(candidate, os.X_OK):
        return candidate
    return None


def _descendants(pid: int) -> list[int]:
    """Pids of every live descendant of ``pid`` (Linux /proc; elsewhere none)."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------

# User settings for the throwaway config dir: render every cell (no
# windowing, so off-screen outputs are in the DOM and can be checked), never
# ask about or fetch news, never check for updates, no toasts.
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "kernelShutdown": True,
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}


class LabServer:
    """One JupyterLab on 127.0.0.1, on a scratch root dir, with scratch state.

    ``root_dir`` is served as the file browser root. ``state_dir`` gets the
    config, runtime, data and IPython dirs and the server log. The server's
    own lab extensions (ipywidgets' manager) are found through ``sys.prefix``,
    which a changed ``JUPYTER_DATA_DIR`` does not hide.
    """

    def __init__(self, root_dir: Path, state_dir: Path, python: str = sys.executable):
        self.root_dir = Path(root_dir)
        self.state_dir = Path(state_dir)
        self.python = python
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = self.state_dir / "jupyterlab.log"
        self._log = None

    # -- environment -------------------------------------------------------
    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        dirs = {
            "JUPYTER_CONFIG_DIR": self.state_dir / "config",
            "JUPYTER_RUNTIME_DIR": self.state_dir / "runtime",
            "JUPYTER_DATA_DIR": self.state_dir / "data",
            "IPYTHONDIR": self.state_dir / "ipython",
        }
        for name, path in dirs.items():
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        settings = dirs["JUPYTER_CONFIG_DIR"] / "lab" / "user-settings"
        for relative, values in USER_SETTINGS.items():
            target = settings / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values, indent=2))
        env.pop("JUPYTER_PORT", None)
        env.pop("JUPYTER_TOKEN", None)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        return env

    def command(self) -> list[str]:
        return [
            self.python, "-m", "jupyter", "lab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]

    # -- lifecycle ---------------------------------------------------------
    def start(self, timeout: float = 90.0) -> "LabServer":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.root_dir,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kernels die with it
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self.process.returncode} before answering; "
                    f"log:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {timeout:.0f} s; "
                           f"log:\n{self.log_tail()}")

    def stop(self, grace: float = 15.0) -> None:
        """Stop the server and its kernels.

        Kernels are asked to shut down through the API, then the server's
        process group gets SIGTERM (the server stops its kernels too), and
        SIGKILL after ``grace``. Kernels run in sessions of their own, so any
        of the server's descendants still alive after that are killed by pid.
        """
        proc = self.process
        if proc is None:
            return
        descendants = _descendants(proc.pid)
        if proc.poll() is None:
            try:
                self.shutdown_kernels()
            except Exception:
                pass
            descendants += _descendants(proc.pid)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in dict.fromkeys(descendants):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self._log is not None:
            self._log.close()
            self._log = None
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- REST ----------------------------------------------------------------
    def api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> int:
        """Delete every session and kernel; return how many kernels there were."""
        for session in self.api("GET", "sessions") or []:
            try:
                self.api("DELETE", f"sessions/{session['id']}")
            except urllib.error.HTTPError:
                pass
        kernels = self.api("GET", "kernels") or []
        for kernel in kernels:
            try:
                self.api("DELETE", f"kernels/{kernel['id']}")
            except urllib.error.HTTPError:
                pass
        return len(kernels)

    def notebook_url(self, relative_path: str) -> str:
        return f"{self.url}/lab/tree/{quote(relative_path)}?reset"


# Not part of what a learner opens: left out of the scratch copy.
SCRATCH_IGNORE = (".git", ".venv", "venv", "build", "node_modules", "__pycache__",
                  ".ipynb_checkpoints", ".hypothesis", ".pytest_cache", "*.egg-info")


def make_scratch_root(repo: Path, root: Path) -> Path:
    """Copy the repository (less VCS, venv and build output) into ``root``.

    The server works on the copy, so running notebooks never changes a
    committed file, while relative links from a notebook (images in docs/,
    data files) still resolve as they do in the repository.
    """
    shutil.copytree(repo, root, ignore=shutil.ignore_patterns(*SCRATCH_IGNORE),
                    dirs_exist_ok=True, symlinks=True)
    return root


# --------------------------------------------------------------------------
# The network guard
# --------------------------------------------------------------------------


class NetworkGuard:
    """Abort every request that leaves loopback; remember each one."""

    def __init__(self):
        self.blocked: list[str] = []

    @staticmethod
    def is_local(url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about", "chrome-extension", "devtools"):
            return True
        return (parts.hostname or "") in LOOPBACK_HOSTS

    def install(self, context) -> "NetworkGuard":
        """Route only what leaves loopback, so local traffic (the kernel's
        websocket above all) is not slowed down by interception."""

        def leaves(url: str) -> bool:
            return not self.is_local(url)

        def on_route(route):
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")

        def on_websocket(ws):
            self.blocked.append(ws.url)
            ws.close()

        context.route(leaves, on_route)
        context.route_web_socket(leaves, on_websocket)
        return self

    def take(self) -> list[str]:
        """The blocked URLs since the last call."""
        taken, self.blocked = self.blocked, []
        return taken


# --------------------------------------------------------------------------
# In the page: JavaScript run through page.evaluate
# --------------------------------------------------------------------------

# Returns the NotebookPanel for `path`, or null. Prefixed to other snippets.
_FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.content.widgets) return w;
  }
  return null;
};
"""

_BOOTED = """
async () => {
  // `?reset` clears the workspace, then reloads the page without it.
  const app = window.jupyterapp;
  if (!app || location.search.includes('reset')) return false;
  await app.started;
  await app.restored;
  return true;
}
"""

_OPEN = """
async (path) => {
  const app = window.jupyterapp;
  app.shell.collapseLeft();
  app.shell.collapseRight();
  await app.commands.execute('docmanager:open', {path});
  // JupyterLab opens a Launcher whenever the main area empties; not wanted
  // in a screenshot.
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.id && w.id.startsWith('launcher')) w.close();
  }
}
"""

_READY = _FIND_PANEL + """
async (path) => {
  const panel = findPanel(path);
  if (!panel) return false;
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}
"""

_DIALOG_TEXT = """
() => Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText).join('\\n---\\n')
"""

# Starts Run All on `path` without waiting; the outcome lands in
# window.__browserRuns[path]. runmenu:run-all acts on the current widget, so
# the notebook is activated first, in the same task.
_START_RUN = _FIND_PANEL + """
(args) => {
  const [path, command] = args;
  const app = window.jupyterapp;
  const panel = findPanel(path);
  app.shell.activateById(panel.id);
  if (app.shell.currentWidget !== panel) return 'notebook is not the current widget';
  const runs = (window.__browserRuns = window.__browserRuns || {});
  const entry = {done: false, ok: null, ms: null, error: null};
  runs[path] = entry;
  const started = performance.now();
  app.commands.execute(command).then(
    ok => { entry.ok = ok !== false; entry.done = true; entry.ms = performance.now() - started; },
    err => { entry.ok = false; entry.done = true; entry.error = String(err);
             entry.ms = performance.now() - started; });
  return null;
}
"""

_RUNS_DONE = """
(paths) => paths.every(p => window.__browserRuns && window.__browserRuns[p] &&
                            window.__browserRuns[p].done)
"""

_RUN_OUTCOME = "(path) => (window.__browserRuns || {})[path] || null"

_ACTIVATE = _FIND_PANEL + """
(path) => {
  const app = window.jupyterapp;
  const panel = findPanel(path);
  app.shell.activateById(panel.id);
  return app.shell.currentWidget === panel;
}
"""

# True once the kernel is idle, no cell is queued or running, no widget view
# is still loading and every image has loaded.
_SETTLED = _FIND_PANEL + """
(path) => {
  const panel = findPanel(path);
  if (!panel) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') continue;
    if (cell.model.executionState === 'running') return false;
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    if (prompt && prompt.textContent.includes('*')) return false;
  }
  const node = panel.content.node;
  if (node.innerText.includes('Loading widget...')) return false;
  for (const img of node.querySelectorAll('.jp-OutputArea-output img')) {
    if (!img.complete) return false;
  }
  return true;
}
"""

_CLOSE = _FIND_PANEL + """
async (path) => {
  const panel = findPanel(path);
  if (!panel) return;
  panel.context.model.dirty = false;  // never save the scratch copy, never ask
  try { await panel.sessionContext.shutdown(); } catch (e) {}
  panel.dispose();
  for (const el of document.querySelectorAll('[data-browser-panel], [data-browser-slider]')) {
    el.removeAttribute('data-browser-panel');
    el.removeAttribute('data-browser-slider');
  }
}
"""

# Everything the render checks need, in one pass over the model and the DOM
# of every code cell.
_INSPECT = _FIND_PANEL + """
(args) => {
  const [path, failureTexts] = args;
  const panel = findPanel(path);
  const rendermime = panel.content.rendermime;
  const clip = (s, n) => (s.length > n ? s.slice(0, n) + '...' : s);
  const text = (v) => Array.isArray(v) ? v.join('') : (v || '');
  const mimeOf = (el) => el.getAttribute('data-mime-type') || '';
  const drawn = (el) => {
    for (const img of el.querySelectorAll('img')) {
      if (img.complete && img.naturalWidth > 0) return true;
    }
    for (const svg of el.querySelectorAll('svg')) {
      const box = svg.getBoundingClientRect();
      if (svg.childElementCount > 0 && box.width > 0 && box.height > 0) return true;
    }
    for (const canvas of el.querySelectorAll('canvas')) {
      if (canvas.width > 0 && canvas.height > 0) return true;
    }
    return false;
  };
  const cells = [];
  panel.content.widgets.forEach((cell, index) => {
    const model = cell.model;
    if (model.type === 'markdown') {
      // Pictures in the text: a broken one is as visible as a broken chart.
      const broken = Array.from(cell.node.querySelectorAll('.jp-RenderedMarkdown img'))
        .filter(img => !(img.complete && img.naturalWidth > 0))
        .map(img => clip(`${img.getAttribute('alt') || ''} <${(img.getAttribute('src') || '').split('?')[0]}>`, 200));
      cells.push({index, kind: 'markdown', source: clip(model.sharedModel.getSource(), 160),
                  brokenImages: broken});
      return;
    }
    if (model.type !== 'code') return;
    const info = {
      kind: 'code',
      index,
      tags: (model.getMetadata && model.getMetadata('tags')) || [],
      executionCount: model.executionCount,
      source: clip(model.sharedModel.getSource(), 160),
      outputs: [], dom: {},
    };
    for (let j = 0; j < model.outputs.length; j++) {
      const out = model.outputs.get(j);
      const json = out.toJSON();
      const entry = {type: json.output_type};
      if (json.output_type === 'error') {
        entry.text = json.ename + ': ' + clip(json.evalue || '', 300);
      } else if (json.output_type === 'stream') {
        entry.name = json.name;
        entry.text = clip(text(json.text), 300);
      } else {
        entry.mimetypes = Object.keys(json.data || {});
        entry.renderer = rendermime.preferredMimeType(out.data, out.trusted ? 'any' : 'ensure') || null;
      }
      info.outputs.push(entry);
    }
    const area = cell.outputArea ? cell.outputArea.node : cell.node;
    // Every rendered output, including those inside widgets' Output areas.
    const all = Array.from(area.querySelectorAll('.jp-OutputArea-output'));
    info.dom.stderr = all.filter(el => mimeOf(el) === 'application/vnd.jupyter.stderr')
                         .map(el => clip(el.innerText, 300));
    info.dom.images = all.filter(el => mimeOf(el).startsWith('image/'))
                         .map(el => ({mime: mimeOf(el), drawn: drawn(el)}));
    info.dom.vega = all.filter(el => /vnd\\.vega/.test(mimeOf(el)))
                       .map(el => ({mime: mimeOf(el), drawn: drawn(el)}));
    info.dom.htmlCharts = all.filter(el => mimeOf(el) === 'text/html' &&
                                           /vega|altair-viz/i.test(el.innerHTML))
                             .map(el => ({drawn: drawn(el), text: clip(el.innerText, 200)}));
    // Widget views carry no data-mime-type: pair the model's outputs with
    // the output area's children, which come in the same order.
    const children = cell.outputArea
      ? Array.from(cell.outputArea.node.querySelectorAll(':scope > .jp-OutputArea-child')) : [];
    info.dom.widgets = [];
    info.outputs.forEach((entry, j) => {
      if (entry.renderer !== 'application/vnd.jupyter.widget-view+json') return;
      const el = children[j] && children[j].querySelector(':scope > .jp-OutputArea-output');
      const livePanel = el && el.querySelector('.chapter1-panel');
      info.dom.widgets.push({
        rendered: !!el && !!el.querySelector('.jupyter-widgets') &&
                  !failureTexts.some(t => el.innerText.includes(t)),
        text: el ? clip(el.innerText, 200) : '(no output element)',
        // chapter1.widgets.panel(): sliders above, a chart in its Output
        chartless: !!livePanel && !Array.from(livePanel.querySelectorAll('.widget-output')).some(drawn),
      });
    });
    info.dom.failureTexts = [];
    for (const el of all) {
      for (const needle of failureTexts) {
        if (el.innerText.includes(needle)) info.dom.failureTexts.push(clip(el.innerText, 200));
      }
    }
    cells.push(info);
  });
  return cells;
}
"""

# Marks every live panel -- a widget output of a cell holding at least one
# enabled slider and a chart inside an Output widget -- and describes it.
_FIND_LIVE_PANELS = _FIND_PANEL + """
(path) => {
  const panel = findPanel(path);
  for (const el of document.querySelectorAll('[data-browser-panel], [data-browser-slider]')) {
    el.removeAttribute('data-browser-panel');
    el.removeAttribute('data-browser-slider');
  }
  const found = [];
  const charts = '.widget-output img, .widget-output svg, .widget-output canvas';
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code' || !cell.outputArea) return;
    const children = Array.from(
      cell.outputArea.node.querySelectorAll(':scope > .jp-OutputArea-child'));
    for (let j = 0; j < cell.model.outputs.length && j < children.length; j++) {
      const out = cell.model.outputs.get(j);
      if (!out.data || !out.data['application/vnd.jupyter.widget-view+json']) continue;
      const view = children[j].querySelector(':scope > .jp-OutputArea-output');
      if (!view) continue;
      const sliders = Array.from(view.querySelectorAll('.widget-slider'))
        .filter(s => s.querySelector('.noUi-handle') && !s.querySelector('.noUi-target[disabled]'));
      if (!sliders.length || !view.querySelector(charts)) continue;
      const k = found.length;
      view.setAttribute('data-browser-panel', String(k));
      sliders[0].setAttribute('data-browser-slider', String(k));
      const label = sliders[0].querySelector('.widget-label');
      found.push({panel: k, cell: index, slider: label ? label.innerText.trim() : '',
                  sliders: sliders.length});
    }
  });
  return found;
}
"""

# A string standing for the charts inside panel k's Output widgets, or null
# while an image is still loading.
_SNAPSHOT = """
const snapshot = (view) => {
  const parts = [];
  for (const e of view.querySelectorAll('.widget-output img, .widget-output svg, .widget-output canvas')) {
    if (e.tagName === 'IMG') {
      if (!(e.complete && e.naturalWidth > 0)) return null;
      parts.push(e.src);
    } else if (e.tagName === 'CANVAS') {
      parts.push(e.toDataURL());
    } else if (e.classList.contains('marks') && !e.querySelector('.mark-group')) {
      return null;  // the browser's Vega has made its SVG but not drawn into it yet
    } else {
      parts.push(e.outerHTML);
    }
  }
  return parts.length ? parts.join('\\n') : null;
};
"""

_PANEL_STEADY = _SNAPSHOT + """
(k) => {
  const view = document.querySelector(`[data-browser-panel="${k}"]`);
  return !!view && snapshot(view) !== null;
}
"""

# Remembers the panel's charts, then watches it: the first time its charts
# differ from that -- after the keydown -- is the redraw.
_ARM = _FIND_PANEL + _SNAPSHOT + """
(args) => {
  const [k, path] = args;
  const view = document.querySelector(`[data-browser-panel="${k}"]`);
  const handle = document.querySelector(`[data-browser-slider="${k}"] .noUi-handle`);
  const state = {before: snapshot(view), keydown: null, redrawn: null, busy: null, idle: null,
                 value: handle.getAttribute('aria-valuenow'),
                 max: handle.getAttribute('aria-valuemax')};
  window.__browserCheck = state;
  document.addEventListener('keydown', () => {
    if (state.keydown === null) state.keydown = performance.now();
  }, {capture: true, once: true});
  // The kernel's share: from "busy" to "idle" on the message the key made
  // the slider send (its callback: simulate, chart, display).
  state.sent = null;
  state.trace = [];  // every kernel message after the key, for BROWSER_TRACE=1
  const kernel = findPanel(path).sessionContext.session.kernel;
  const onMessage = (_, {msg, direction}) => {
    if (state.keydown === null) return;
    const now = performance.now();
    const parent = msg.parent_header || {};
    state.trace.push([Math.round(now - state.keydown), direction, msg.header.msg_type,
                      parent.msg_type || '', (msg.content || {}).execution_state || '']);
    if (direction === 'send' && msg.header.msg_type === 'comm_msg' && state.sent === null) {
      state.sent = msg.header.msg_id;
    } else if (direction === 'recv' && msg.header.msg_type === 'status' &&
               state.sent !== null && parent.msg_id === state.sent) {
      if (msg.content.execution_state === 'busy') state.busy = now;
      if (msg.content.execution_state === 'idle') state.idle = now;
    }
  };
  kernel.anyMessage.connect(onMessage);
  state.stop = () => kernel.anyMessage.disconnect(onMessage);
  const check = () => {
    const now = snapshot(view);
    if (now === null || state.redrawn !== null) return;
    if (state.keydown === null) { state.before = now; return; }  // churn before the key
    if (now !== state.before) {
      state.redrawn = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(view, {subtree: true, childList: true, attributes: true, characterData: true});
  view.addEventListener('load', check, {capture: true});  // an <img> finished loading
  return {value: state.value, max: state.max};
}
"""

_KERNEL_IDLE = _FIND_PANEL + """
(path) => {
  const panel = findPanel(path);
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}
"""

_SCROLL_TO_SHOWCASE = """
() => {
  // The first live panel, else the first chart: what a README shot should show.
  const el = document.querySelector('[data-browser-panel="0"]') ||
             document.querySelector('.jp-NotebookPanel .jp-OutputArea-output[data-mime-type^="image/"]');
  if (!el) return false;
  const cell = el.closest('.jp-Cell');
  const input = cell && cell.querySelector('.jp-InputArea');
  // Show the panel with a little of its cell above it, not a long code cell.
  (input && input.offsetHeight < 200 ? cell : el).scrollIntoView({block: 'start'});
  return true;
}
"""

_NOTEBOOK_HEIGHT = """
() => {
  const nb = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer') ||
             document.querySelector('.jp-NotebookPanel-notebook');
  if (!nb) return 0;
  nb.scrollTop = 0;
  return nb.scrollHeight;
}
"""


# --------------------------------------------------------------------------
# What the checks find
# --------------------------------------------------------------------------


@dataclass
class SliderMove:
    """One arrow-key press on a panel's slider and what the chart did."""

    panel: int
    cell: int
    slider: str
    key: str
    changed: bool
    ms: float | None  # keydown -> redrawn chart, in the page
    kernel_ms: float | None = None  # of which the kernel was busy (callback)
    drawn_by: str | None = None  # "browser" (JupyterLab's Vega renderer) or "kernel" (an SVG picture)


@dataclass
class NotebookReport:
    """What happened when one notebook was opened and run in the browser."""

    path: str
    open_s: float = 0.0
    run_s: float = 0.0
    settle_s: float = 0.0
    sliders_s: float = 0.0
    screenshot_s: float = 0.0
    settled: bool = False
    run_ok: bool = True
    cells: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    blocked: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    panels: list = field(default_factory=list)
    moves: list = field(default_factory=list)
    screenshots: list = field(default_factory=list)
    failure: str | None = None  # the check itself could not finish
    ran_with: list = field(default_factory=list)

    @property
    def dead_sliders(self) -> list[SliderMove]:
        return [m for m in self.moves if not m.changed]

    def slider_ms(self) -> list[float]:
        return [m.ms for m in self.moves if m.changed and m.ms is not None]

    def timings(self) -> dict:
        return {
            "open_s": round(self.open_s, 2),
            "run_all_s": round(self.run_s, 2),
            "settle_s": round(self.settle_s, 2),
            "sliders_s": round(self.sliders_s, 2),
            "screenshot_s": round(self.screenshot_s, 2),
            "panels": len(self.panels),
            "slider_ms": self.slider_ms(),
            "moves": [asdict(m) for m in self.moves],
            "ran_with": self.ran_with,
        }

    def summary(self) -> str:
        moves = [m for m in self.moves if m.changed and m.ms is not None]
        if moves:
            sliders = "slider->redraw " + ", ".join(
                f"{m.ms:.0f}" + (f" (kernel {m.kernel_ms:.0f})" if m.kernel_ms is not None else "")
                for m in moves) + " ms"
        else:
            sliders = "no live panel" if not self.panels else "slider did not redraw"
        return (f"{self.path}: open {self.open_s:.1f} s, run all {self.run_s:.1f} s, "
                f"{len(self.panels)} panel(s), {sliders}")


def render_problems(cells: list[dict], settled: bool = True) -> list[str]:
    """Everything a learner would see as broken, one line each (empty: all good).

    * an error output (unless the cell is tagged ``raises-exception``);
    * anything printed to stderr, in a cell or inside a widget's Output;
    * an output no renderer can show (JupyterLab silently shows nothing);
    * an image/chart output that did not draw (no loaded <img>, <svg> or
      <canvas>), including altair HTML charts that need vega from a CDN;
    * a widget view that did not render, a live panel without its chart, and
      the failure texts of JupyterLab, ipywidgets and altair's HTML renderer;
    * an image in a markdown cell that did not load;
    * a code cell that did not run (before any error stopped Run All).
    """
    problems = []
    stopped = False  # an error stops Run All: later cells rightly did not run
    if not settled:
        problems.append("the notebook did not settle (kernel busy, cells queued, "
                        "widgets loading or images pending) within the timeout")
    for cell in cells:
        first_line = cell["source"].splitlines()[0] if cell["source"] else ""
        where = f"cell {cell['index']} ({first_line!r})"
        if cell.get("kind") == "markdown":
            for src in cell["brokenImages"]:
                problems.append(f"{where}: an image in the text did not load: {src!r}")
            continue
        allowed_error = "raises-exception" in cell["tags"]
        if cell["executionCount"] is None and cell["source"].strip() and not stopped:
            problems.append(f"{where}: did not run")
        for out in cell["outputs"]:
            if out["type"] == "error":
                if not allowed_error:
                    problems.append(f"{where}: error output {out['text']}")
                    stopped = True
            elif out["type"] == "stream":
                if out.get("name") == "stderr" and not allowed_error:
                    problems.append(f"{where}: printed to stderr: {out['text']!r}")
            elif out.get("renderer") is None:
                problems.append(f"{where}: no renderer for an output with mimetypes "
                                f"{out.get('mimetypes')}; JupyterLab shows nothing")
        dom = cell["dom"]
        if not allowed_error:
            # Top-level stderr/errors are reported from the model above; what
            # is left was shown inside a widget's Output (a callback failed).
            top = sum(1 for o in cell["outputs"]
                      if o["type"] == "error" or o.get("name") == "stderr")
            for text in dom["stderr"][top:]:
                problems.append(f"{where}: error shown in a widget: {text!r}")
        for image in dom["images"]:
            if not image["drawn"]:
                problems.append(f"{where}: a {image['mime']} output did not draw")
        for chart in dom["vega"]:
            if not chart["drawn"]:
                problems.append(f"{where}: a {chart['mime']} chart did not draw")
        for chart in dom["htmlCharts"]:
            if not chart["drawn"]:
                problems.append(f"{where}: an HTML (vega-embed) chart did not draw: "
                                f"{chart['text']!r}")
        for view in dom["widgets"]:
            if not view["rendered"]:
                problems.append(f"{where}: a widget did not render: {view['text']!r}")
            elif view.get("chartless"):
                problems.append(f"{where}: a live panel shows no chart: {view['text']!r}")
        for text in dom["failureTexts"]:
            if not any(p.startswith(where) and repr(text) in p for p in problems):
                problems.append(f"{where}: failure text on the page: {text!r}")
    return problems


# Uncaught page errors that say nothing about the course.
_BENIGN_PAGE_ERRORS = ("ResizeObserver loop",)


class LabPage:
    """One JupyterLab tab in which notebooks are opened, run and closed in turn.

    JupyterLab boots once (~2 s); each notebook then costs its kernel's
    start and its own run. :meth:`check_notebooks` runs notebooks in small
    batches: the kernels of a batch run at the same time (two cores: ~40 %
    less wall time), then each notebook is inspected, its sliders moved and
    its screenshot taken one at a time, with every kernel idle, so the
    slider timings are not disturbed.
    """

    def __init__(self, context, server: LabServer, guard: NetworkGuard):
        self.context = context
        self.server = server
        self.guard = guard
        self.page = None
        self._page_errors: list[str] = []

    def boot(self, timeout_ms: float = 60_000) -> "LabPage":
        if self.page is not None:
            try:
                self.page.close()
            except Exception:
                pass
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self._page_errors.append(str(error)))
        self.page.goto(f"{self.server.url}/lab?reset", wait_until="domcontentloaded")
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            try:
                if self.page.evaluate(_BOOTED):
                    break
            except Exception:  # the page navigated while we asked
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"JupyterLab did not start in the browser within "
                                     f"{timeout_ms / 1000:.0f} s; server log:\n{self.server.log_tail()}")
            self.page.wait_for_timeout(100)
        return self

    def healthy(self) -> bool:
        try:
            return bool(self.page.evaluate("() => !!(window.jupyterapp && window.jupyterapp.shell)"))
        except Exception:
            return False

    # -- the steps -----------------------------------------------------------
    def open(self, path: str, timeout_ms: float = 60_000) -> float:
        """Open ``path`` and wait for its kernel to be idle; return the seconds it took."""
        if self.page is None or not self.healthy():
            self.boot()
        started = time.perf_counter()
        self.page.evaluate(_OPEN, path)
        deadline = time.monotonic() + timeout_ms / 1000
        while not self.page.evaluate(_READY, path):
            dialog = self.page.evaluate(_DIALOG_TEXT)
            if dialog:
                raise AssertionError(f"{path}: JupyterLab showed a dialog instead of a "
                                     f"ready kernel:\n{dialog}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: notebook or kernel not ready after "
                                     f"{timeout_ms / 1000:.0f} s")
            self.page.wait_for_timeout(50)
        return time.perf_counter() - started

    def start_run(self, path: str, command: str = "runmenu:run-all") -> None:
        """Run > Run All Cells on ``path``, without waiting for it."""
        trouble = self.page.evaluate(_START_RUN, [path, command])
        if trouble:
            raise AssertionError(f"{path}: could not start Run All: {trouble}")

    def wait_runs(self, paths: list[str], timeout_ms: float = 300_000) -> None:
        self.page.wait_for_function(_RUNS_DONE, arg=list(paths), timeout=timeout_ms, polling=100)

    def settle(self, report: "NotebookReport", settle_ms: float = 30_000) -> None:
        """Wait until the kernel is idle, no cell queued, widgets and images arrived."""
        self.page.evaluate(_ACTIVATE, report.path)
        started = time.perf_counter()
        try:
            self.page.wait_for_function(_SETTLED, arg=report.path, timeout=settle_ms, polling=100)
            report.settled = True
        except Exception:
            report.settled = False
        report.settle_s = time.perf_counter() - started

    def inspect(self, path: str) -> list[dict]:
        return self.page.evaluate(_INSPECT, [path, list(FAILURE_TEXTS)])

    def find_live_panels(self, path: str) -> list[dict]:
        return self.page.evaluate(_FIND_LIVE_PANELS, path)

    def execute(self, path: str, code: str) -> None:
        """Run ``code`` in the kernel of the open notebook ``path`` (silently: no cell, no history)."""
        self.page.evaluate(_FIND_PANEL + """
        async ([path, code]) => {
          const kernel = findPanel(path).sessionContext.session.kernel;
          await kernel.requestExecute({code, silent: true, store_history: false}).done;
        }""", [path, code])

    def move_slider(self, path: str, panel: dict, timeout_ms: float = 20_000,
                    key: str | None = None) -> SliderMove:
        """Focus the panel's first slider, press one arrow key (``key``, else right unless
        at the end), wait for the chart to change.

        The time is measured in the page, from the keydown event to the
        moment the charts in the panel's Output differ from before and have
        loaded: kernel round trip, simulation, chart, transfer and drawing.
        """
        k = panel["panel"]
        page = self.page
        try:
            page.wait_for_function(_PANEL_STEADY, arg=k, timeout=timeout_ms, polling=50)
        except Exception:
            pass
        state = page.evaluate(_ARM, [k, path])
        at_max = (state["value"] is not None and state["max"] is not None
                  and float(state["value"]) >= float(state["max"]))
        key = key or ("ArrowLeft" if at_max else "ArrowRight")
        page.locator(f'[data-browser-slider="{k}"] .noUi-handle').first.focus()
        page.keyboard.press(key)
        try:
            page.wait_for_function("() => window.__browserCheck.redrawn !== null",
                                   timeout=timeout_ms, polling="raf")
            changed = True
        except Exception:
            changed = False
        # Let the kernel finish the callback before the next key.
        try:
            page.wait_for_function("() => window.__browserCheck.idle !== null",
                                   timeout=timeout_ms if changed else 1_000, polling=50)
        except Exception:
            pass
        try:
            page.wait_for_function(_KERNEL_IDLE, arg=path, timeout=timeout_ms, polling=50)
        except Exception:
            pass
        result = page.evaluate("""(k) => {
          const s = window.__browserCheck;
          s.stop();
          const view = document.querySelector(`[data-browser-panel="${k}"]`);
          const vega = view && view.querySelector('.widget-output .jp-RenderedVegaCommon5 svg.marks');
          return {keydown: s.keydown, redrawn: s.redrawn, busy: s.busy, idle: s.idle,
                  trace: s.trace, drawnBy: vega ? 'browser' : 'kernel'};
        }""", k)
        if os.environ.get("BROWSER_TRACE"):  # the kernel messages of this move
            redrawn = result["redrawn"] and round(result["redrawn"] - result["keydown"])
            print(f"{path} panel {k}, {key}: redrawn at {redrawn} ms; kernel messages "
                  "[ms after key, direction, type, parent type, state]:",
                  *result["trace"], sep="\n  ")
        ms = kernel_ms = None
        if changed and result["keydown"] is not None:
            ms = round(result["redrawn"] - result["keydown"], 1)
            if result["busy"] is not None and result["idle"] is not None:
                kernel_ms = round(result["idle"] - result["busy"], 1)
        return SliderMove(panel=k, cell=panel["cell"], slider=panel["slider"], key=key,
                          changed=changed, ms=ms, kernel_ms=kernel_ms,
                          drawn_by=result["drawnBy"] if changed else None)

    def screenshot(self, target: Path, full: Path | None = None) -> list[Path]:
        """The first live panel (else first chart) in view; with ``full``, the
        whole notebook as one tall image too."""
        page = self.page
        target.parent.mkdir(parents=True, exist_ok=True)
        page.evaluate(_SCROLL_TO_SHOWCASE)
        page.wait_for_timeout(150)
        page.screenshot(path=str(target))
        saved = [target]
        if full is not None:
            height = page.evaluate(_NOTEBOOK_HEIGHT)
            if height:
                size = dict(page.viewport_size)
                page.set_viewport_size({"width": size["width"],
                                        "height": min(int(height) + 150, 16_000)})
                page.wait_for_timeout(250)
                page.screenshot(path=str(full))
                page.set_viewport_size(size)
                saved.append(full)
        return saved

    def close(self, path: str) -> None:
        """Close the notebook without saving and shut its kernel down."""
        try:
            self.page.evaluate(_CLOSE, path)
        except Exception:
            self.boot()  # a page we cannot talk to: start over

    # -- all of it -------------------------------------------------------------
    def check_notebooks(self, paths: list[str], *, parallel: int = 2,
                        moves_per_panel: int = 3, slider_timeout_ms: float = 20_000,
                        screenshots: Path | None = None, full_screenshots: bool = False,
                        ) -> dict[str, "NotebookReport"]:
        """Open, run all, inspect, move every live panel's slider, screenshot, close.

        ``parallel`` notebooks run at once (see the class docstring). Requests
        that left loopback and uncaught page errors cannot be told apart
        between notebooks of one batch; each report gets the batch's, and
        names the notebooks it ran with.
        """
        reports: dict[str, NotebookReport] = {}
        paths = list(paths)
        for i in range(0, len(paths), max(1, parallel)):
            batch = [NotebookReport(p) for p in paths[i:i + max(1, parallel)]]
            for report in batch:
                report.ran_with = [r.path for r in batch if r is not report]
            self._check_batch(batch, moves_per_panel=moves_per_panel,
                              slider_timeout_ms=slider_timeout_ms,
                              screenshots=screenshots, full_screenshots=full_screenshots)
            reports.update((r.path, r) for r in batch)
        return reports

    def check_notebook(self, path: str, **options) -> "NotebookReport":
        return self.check_notebooks([path], parallel=1, **options)[path]

    def _check_batch(self, batch, *, moves_per_panel, slider_timeout_ms,
                     screenshots, full_screenshots) -> None:
        self.guard.take()
        self._page_errors.clear()
        started = []
        try:
            for report in batch:
                try:
                    report.open_s = self.open(report.path)
                    self.start_run(report.path)
                    started.append(report)
                except Exception as error:  # noqa: BLE001 - reported, test fails
                    report.failure = f"{type(error).__name__}: {error}"
            if started:
                try:
                    self.wait_runs([r.path for r in started])
                except Exception as error:  # noqa: BLE001
                    for report in started:
                        report.failure = f"Run All did not finish: {error}"
            for report in started:
                if report.failure:
                    continue
                try:
                    self._finish(report, moves_per_panel, slider_timeout_ms,
                                 screenshots, full_screenshots)
                except Exception as error:  # noqa: BLE001
                    report.failure = f"{type(error).__name__}: {error}"
                self.close(report.path)  # the next screenshot shows one tab
        finally:
            for report in batch:
                self.close(report.path)
            blocked = self.guard.take()
            errors = [e for e in self._page_errors
                      if not any(b in e for b in _BENIGN_PAGE_ERRORS)]
            self._page_errors.clear()
            for report in batch:
                report.blocked = list(blocked)
                report.page_errors = list(errors)

    def _finish(self, report, moves_per_panel, slider_timeout_ms,
                screenshots, full_screenshots) -> None:
        path = report.path
        outcome = self.page.evaluate(_RUN_OUTCOME, path) or {}
        report.run_ok = bool(outcome.get("ok"))
        report.run_s = (outcome.get("ms") or 0) / 1000
        if outcome.get("error"):
            report.problems.append(f"Run All failed: {outcome['error']}")
        self.settle(report)
        report.cells = self.inspect(path)
        report.problems += render_problems(report.cells, report.settled)
        started = time.perf_counter()
        report.panels = self.find_live_panels(path)
        for panel in report.panels:
            for _ in range(moves_per_panel):
                move = self.move_slider(path, panel, timeout_ms=slider_timeout_ms)
                report.moves.append(move)
                if not move.changed:
                    break  # one dead move is enough to know
        report.sliders_s = time.perf_counter() - started
        if screenshots is not None:
            shot_started = time.perf_counter()
            stem = Path(path).with_suffix("")
            report.screenshots = self.screenshot(
                screenshots / f"{stem}.png",
                screenshots / f"{stem}.full.png" if full_screenshots else None)
            report.screenshot_s = time.perf_counter() - shot_started


# --------------------------------------------------------------------------
# The course
# --------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", REPO / "build" / "browser"))
FIXTURE_DIR = "browser-fixtures"  # inside the server's scratch root
COURSE_FOLDERS = ("notebooks", "solutions")


def course_notebooks() -> list[str]:
    """Every notebook a learner opens: the textbook and the worked solutions."""
    found = []
    for folder in COURSE_FOLDERS:
        found += sorted(p.relative_to(REPO).as_posix() for p in (REPO / folder).glob("*.ipynb"))
    return found


NOTEBOOK_TEST = "test_notebook_works_in_the_browser"


class CourseRun:
    """Checks the selected course notebooks in batches, on first demand.

    A test asks for its notebook's report; the first ask of a batch runs the
    whole batch (this notebook and the next selected ones, ``parallel`` in
    all), so ``-k`` selections and single runs still work.
    """

    def __init__(self, lab, selected: list[str], parallel: int, timings: dict,
                 full_screenshots: bool = False):
        self.lab = lab
        self.full_screenshots = full_screenshots
        self.pending = list(dict.fromkeys(selected))
        self.parallel = parallel
        self.timings = timings
        self.reports: dict[str, NotebookReport] = {}

    def report(self, path: str) -> NotebookReport:
        if path not in self.reports:
            if path in self.pending:
                self.pending.remove(path)
            batch = [path] + self.pending[: self.parallel - 1]
            del self.pending[: self.parallel - 1]
            done = self.lab.check_notebooks(batch, parallel=self.parallel,
                                            screenshots=ARTIFACTS,
                                            full_screenshots=self.full_screenshots)
            self.reports.update(done)
            for name, report in done.items():
                self.timings[name] = report.timings()
        return self.reports[path]
