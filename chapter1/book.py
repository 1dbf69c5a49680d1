"""The course as a static HTML book (jupyter-book 1.x) that opens from disk and needs no internet.

``make book`` runs ``python -m chapter1.book``, which

1. stages a copy of the course in ``build/book-src``: the pages of ``book/``, every notebook of
   ``notebooks/`` and ``exercises/`` as committed (executed, charts as SVG; nothing is run), with
   each live panel replaced by the chart it drew first and a note on how to run it live, and the
   saved widget state dropped (no widget JavaScript, no CDN);
2. generates the glossary and reference pages from the chapters and the library (as
   ``python -m chapter1.glossary`` and ``python -m chapter1.reference`` write ``book/``);
3. writes the table of contents from the notebooks present (a new chapter needs no edit here);
4. runs ``jupyter-book build`` into ``build/book`` (the site is ``build/book/_build/html``);
5. checks the site: no script, stylesheet or image from outside, and every local link resolves.

Build: about 20 s for 25 notebooks on two cores. jupyter-book 1.x comes from the ``book`` extra
(``pip install -e '.[book]'``); ``make book`` keeps it in a venv of its own (``build/book-venv``),
since its Sphinx stack pins older Markdown parsers than the course's JupyterLab.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
STAGING = REPO / "build" / "book-src"
OUTPUT = REPO / "build" / "book"
SITE = OUTPUT / "_build" / "html"
FOLDERS = ("notebooks", "exercises")
PAGES = ("intro.md", "glossary.md", "reference.md")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_NOTEBOOK = re.compile(r"^(\d\d)_\w+\.ipynb$")

LIVE_NOTE = (
    "This is the static book: every chart shows the output committed with the course. A live panel"
    " (sliders and a *new run* button) appears here with the chart it draws first. To move its"
    " sliders, open the notebook in JupyterLab: `make lab` in the course folder, then"
    " `{path}`, and run the cells top to bottom."
)
EXERCISE_NOTE = (
    "Exercises run in JupyterLab: open `{path}` there (`make lab`), write your answers in the"
    " answer cells and run each `# CHECK` cell; `python -m chapter1.grade {path}` gives your score."
)


# --------------------------------------------------------------------------
# Staging: the notebooks as the book shows them
# --------------------------------------------------------------------------

def course_notebooks(folder):
    """The notebooks ``NN_name.ipynb`` of ``folder``, in order.

    >>> [p.name for p in course_notebooks(REPO / "notebooks")][0]
    '00_start_here.ipynb'
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be a directory of notebooks; got {str(folder)!r}")
    return sorted((p for p in folder.iterdir() if _NOTEBOOK.match(p.name)), key=lambda p: p.name)


def panel_snapshot(model_id, state):
    """Static HTML for a saved widget view: its control settings, headline and first chart.

    ``state`` is the notebook's saved widget state (model id -> model). Buttons are left out.
    Models are shown in the panel's order: settings first, then each headline and chart.

    >>> state = {"a": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_b", "IPY_MODEL_c"]}},
    ...          "b": {"model_name": "IntSliderModel", "state": {"description": "servers", "value": 4}},
    ...          "c": {"model_name": "OutputModel", "state": {"outputs": [{"data": {"image/svg+xml": "<svg/>"}}]}}}
    >>> print(panel_snapshot("a", state))
    <div class="chapter1-snapshot"><p class="chapter1-settings"><b>Settings:</b> servers = 4</p><svg/></div>
    """
    settings: list[str] = []
    body: list[str] = []
    _walk(model_id, state, settings, body, seen=set())
    parts = ['<div class="chapter1-snapshot">']
    if settings:
        parts.append(f'<p class="chapter1-settings"><b>Settings:</b> {" · ".join(settings)}</p>')
    parts.extend(body)
    parts.append("</div>")
    return "".join(parts)


def _walk(model_id, state, settings, body, seen):
    model = state.get(model_id)
    if model is None or model_id in seen:
        return
    seen.add(model_id)
    kind, values = model.get("model_name", ""), model.get("state", {})
    for child in values.get("children") or ():
        _walk(str(child).removeprefix("IPY_MODEL_"), state, settings, body, seen)
    if kind == "HTMLModel" and values.get("value"):
        body.append(f'<div class="chapter1-headline">{values["value"]}</div>')
    elif kind == "OutputModel":
        body.extend(_output_html(output) for output in values.get("outputs", ()))
    elif kind != "ButtonModel" and values.get("description"):
        value = _setting(values)
        if value is not None:
            settings.append(f"{html.escape(values['description'])} = {html.escape(value)}")


def _setting(values):
    labels = values.get("_options_labels")
    if labels is not None and isinstance(values.get("index"), int) and 0 <= values["index"] < len(labels):
        return str(labels[values["index"]])
    value = values.get("value")
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return None if value is None or isinstance(value, (list, dict)) else str(value)
    return f"{value:,g}" if isinstance(value, float) else str(value)


def _output_html(output):
    data = output.get("data", {})
    for mime in ("image/svg+xml", "text/html"):
        if mime in data:
            return _joined(data[mime])
    text = _joined(data.get("text/plain", output.get("text", "")))
    return f"<pre>{html.escape(text)}</pre>" if text else ""


def _joined(value):
    return "".join(value) if isinstance(value, list) else str(value)


def _note(kind, title, text):
    return {"cell_type": "markdown", "id": f"book-{kind}", "metadata": {},
            "source": f"```{{admonition}} {title}\n:class: {kind}\n{text}\n```"}


def book_notebook(notebook, relative_path, exercise=False):
    """A notebook (as a dict) as the book shows it: panels as static snapshots, a note on running live.

    >>> nb = {"cells": [{"cell_type": "markdown", "id": "t", "metadata": {}, "source": "# Title"}],
    ...       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    >>> [c["id"] for c in book_notebook(nb, "notebooks/01_x.ipynb")["cells"]]
    ['t', 'book-note']
    """
    notebook = json.loads(json.dumps(notebook))
    state = notebook.get("metadata", {}).pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    panels = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            view = output.get("data", {}).pop(WIDGET_VIEW, None)
            if view is None:
                continue
            panels += 1
            output["data"] = {
                "text/html": (
                    '<div class="admonition tip chapter1-live"><p class="admonition-title">Live panel</p>'
                    "<p>In JupyterLab this panel re-runs its simulation when you move a slider; here it"
                    f" shows the first run. Run it live: open <code>{html.escape(relative_path)}</code>"
                    " in JupyterLab (<code>make lab</code>).</p></div>" + panel_snapshot(view["model_id"], state)
                ),
                "text/plain": "a live panel (static snapshot)",
            }
    note = (_note("important", "Run this in JupyterLab", EXERCISE_NOTE.format(path=relative_path)) if exercise
            else _note("note", "Reading the book", LIVE_NOTE.format(path=relative_path)))
    cells = notebook.setdefault("cells", [])
    cells.insert(1 if cells else 0, note)
    notebook.setdefault("metadata", {})["chapter1_book"] = {"panels": panels}
    return notebook


def toc(notebooks, exercises):
    """The jupyter-book table of contents (YAML text) for these notebook names (``NN_name.ipynb``).

    >>> print(toc(["00_start_here.ipynb", "01_single_server.ipynb"], ["01_single_server.ipynb"]))
    format: jb-book
    root: book/intro
    parts:
    - caption: Start
      chapters:
      - file: notebooks/00_start_here
    - caption: Chapters
      chapters:
      - file: notebooks/01_single_server
    - caption: Exercises
      chapters:
      - file: exercises/01_single_server
    - caption: Reference
      chapters:
      - file: book/glossary
      - file: book/reference
    <BLANKLINE>
    """
    def part(caption, files):
        return [f"- caption: {caption}", "  chapters:"] + [f"  - file: {f}" for f in files]

    names = [str(n) for n in notebooks]
    start = [f"notebooks/{n[:-6]}" for n in names if n.startswith("00")]
    chapters = [f"notebooks/{n[:-6]}" for n in names if not n.startswith("00")]
    lines = ["format: jb-book", "root: book/intro", "parts:"]
    if start:
        lines += part("Start", start)
    lines += part("Chapters", chapters)
    if exercises:
        lines += part("Exercises", [f"exercises/{str(n)[:-6]}" for n in exercises])
    lines += part("Reference", ["book/glossary", "book/reference"])
    return "\n".join(lines) + "\n"


def stage(repo=REPO, staging=STAGING):
    """Copy the book's pages and the course notebooks (as the book shows them) into ``staging``.

    Returns the number of notebooks staged.
    """
    repo, staging = Path(repo), Path(staging)
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "book").mkdir(parents=True)
    shutil.copy(repo / "book" / "_config.yml", staging / "_config.yml")
    for page in PAGES:
        shutil.copy(repo / "book" / page, staging / "book" / page)
    shutil.copytree(repo / "book" / "_static", staging / "_static")
    staged = {}
    for folder in FOLDERS:
        (staging / folder).mkdir()
        staged[folder] = []
        for path in course_notebooks(repo / folder):
            notebook = json.loads(path.read_text(encoding="utf-8"))
            shown = book_notebook(notebook, f"{folder}/{path.name}", exercise=folder == "exercises")
            (staging / folder / path.name).write_text(json.dumps(shown, ensure_ascii=False, indent=1), encoding="utf-8")
            staged[folder].append(path.name)
    (staging / "_toc.yml").write_text(toc(staged["notebooks"], staged["exercises"]), encoding="utf-8")
    return sum(len(v) for v in staged.values())


# --------------------------------------------------------------------------
# Checking the built site
# --------------------------------------------------------------------------

class _Refs(HTMLParser):
    """Every (tag, attribute, url) of a page that loads or links something."""

    LOADS = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src",
             "audio": "src", "video": "src", "embed": "src", "object": "data"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "data"):
            if attrs.get(name) and (name == self.LOADS.get(tag) or (tag == "a" and name == "href")):
                self.refs.append((tag, name, attrs[name]))


def page_refs(path):
    """The (tag, attribute, url) triples of an HTML file: what it loads and where its links go."""
    parser = _Refs()
    parser.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    return parser.refs


def _is_external(url):
    parts = urlsplit(url)
    local = ("file", "data", "blob", "mailto", "javascript")
    return bool(parts.scheme and parts.scheme not in local) or url.startswith("//")


def site_pages(site=SITE):
    """The HTML pages of a built site (the theme's Jinja macro files under ``_static`` are not pages)."""
    site = Path(site)
    return sorted(p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != "_static")


def external_loads(site=SITE):
    """Every script, stylesheet, image or frame of the site that would be fetched from outside.

    Returns ``[(page, tag, url), ...]``; an empty list means the site works offline.
    """
    found = []
    for page in site_pages(site):
        for tag, _, url in page_refs(page):
            if tag != "a" and _is_external(url):
                found.append((str(page.relative_to(site)), tag, url))
    return found


def broken_links(site=SITE):
    """Every local href/src of the site's pages whose file does not exist: ``[(page, url), ...]``."""
    site = Path(site)
    broken = []
    for page in site_pages(site):
        for _, _, url in page_refs(page):
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//") or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.exists():
                broken.append((str(page.relative_to(site)), url))
    return broken


def check_site(site=SITE):
    """Raise RuntimeError naming the problems if the site loads anything from outside or has broken links."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise RuntimeError(f"no book at {site}: run make book")
    problems = [f"{page}: <{tag}> loads {url}" for page, tag, url in external_loads(site)]
    problems += [f"{page}: broken link {url}" for page, url in broken_links(site)]
    if problems:
        shown = "\n  ".join(problems[:30])
        raise RuntimeError(f"the book at {site} has {len(problems)} problem(s):\n  {shown}")


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------

def requirements(pyproject=REPO / "pyproject.toml"):
    """The ``book`` extra of pyproject.toml: what ``make book`` installs into its venv.

    >>> any(r.startswith("jupyter-book") and "<2" in r for r in requirements())
    True
    """
    import tomllib

    extras = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    if "book" not in extras:
        raise ValueError(f"pyproject {str(pyproject)!r} has no [project.optional-dependencies] book extra")
    return list(extras["book"])


def build(jupyter_book, repo=REPO, staging=STAGING, output=OUTPUT):
    """Stage the course with freshly generated glossary and reference pages, run jupyter-book, check the site.

    The committed ``book/glossary.md`` and ``book/reference.md`` are left alone (a test checks that
    they are up to date); the book always shows the tables generated from the notebooks it holds.
    """
    from chapter1 import glossary, reference

    count = stage(repo, staging)
    glossary.write_glossary(Path(staging) / "book" / "glossary.md", Path(repo) / "notebooks")
    reference.write_reference(Path(staging) / "book" / "reference.md")
    if Path(output).exists():
        shutil.rmtree(output)
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    command = [str(jupyter_book), "build", str(staging), "--path-output", str(output), "--builder", "html",
               "--warningiserror", "--keep-going"]
    subprocess.run(command, check=True, env=env)
    site = Path(output) / "_build" / "html"
    check_site(site)
    return count, site


def main(argv=None):
    """Build the course as a static HTML book into build/book (the site is build/book/_build/html)."""
    parser = argparse.ArgumentParser(prog="python -m chapter1.book", description=main.__doc__)
    parser.add_argument("--jupyter-book", default=shutil.which("jupyter-book") or "jupyter-book",
                        help="the jupyter-book 1.x command (default: jupyter-book on PATH)")
    parser.add_argument("--check-only", action="store_true", help="only check an already built site")
    parser.add_argument("--requirements", action="store_true",
                        help="print the book extra's requirements (from pyproject.toml), one a line, and exit")
    args = parser.parse_args(argv)
    if args.requirements:
        print("\n".join(requirements()))
        return 0
    if args.check_only:
        check_site(SITE)
        print(f"{SITE}: no outside loads, no broken links")
        return 0
    count, site = build(args.jupyter_book)
    pages = len(site_pages(site))
    print(f"book: {count} notebooks -> {pages} pages in {site} (open {site / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
