"""The course's bilingual glossary, generated from every chapter's "Key terms" table.

Each chapter notebook ends with a Markdown table ``| English | 한국어 | meaning here |`` under a
"Key terms" heading. :func:`glossary` reads those tables from ``notebooks/NN_*.ipynb`` and merges
them: a term that several chapters list is one row, credited to the first chapter that introduces
it, with the later ones under ``also_in``. :func:`write_glossary` writes the book's glossary page,
so the page cannot drift from the chapters (a test regenerates it and compares).

    python -m chapter1.glossary            # rewrite book/glossary.md
    python -m chapter1.glossary --check    # exit 1 if book/glossary.md is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from chapter1.core import validation as check

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
GLOSSARY_PAGE = REPO / "book" / "glossary.md"
COLUMNS = ("english", "korean", "meaning", "chapter", "title", "also_in")

_HEADING = re.compile(r"^#{1,6}\s+(?:\d+\.\s*)?Key terms\s*$", re.MULTILINE)
_CHAPTER = re.compile(r"^(\d\d)_\w+\.ipynb$")
_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def chapter_notebooks(folder=NOTEBOOKS):
    """The chapter notebooks ``NN_name.ipynb`` in ``folder`` (00 excluded), in chapter order.

    >>> [p.name for p in chapter_notebooks()][:2]
    ['01_single_server.ipynb', '02_database_tier.ipynb']
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be a directory of chapter notebooks; got {str(folder)!r}")
    found = [p for p in folder.iterdir() if _CHAPTER.match(p.name) and not p.name.startswith("00")]
    return sorted(found, key=lambda p: p.name)


def notebook_title(path):
    """The text of a notebook's first ``# `` heading (the file name when it has none).

    >>> notebook_title(NOTEBOOKS / "01_single_server.ipynb").startswith("01")
    True
    """
    for source in _markdown_sources(path):
        for line in source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return Path(path).stem


def key_terms(path):
    """The rows of a notebook's "Key terms" table as dicts (english, korean, meaning).

    ValueError if the notebook has no such table, or a row has the wrong number of cells.

    >>> key_terms(NOTEBOOKS / "01_single_server.ipynb")[0]["korean"]
    '단일 서버'
    """
    for source in _markdown_sources(path):
        heading = _HEADING.search(source)
        if heading:
            return _table_rows(source[heading.end():], path)
    raise ValueError(f"path {str(path)!r} has no Markdown cell with a 'Key terms' heading and table")


def glossary(folder=NOTEBOOKS):
    """One row per term over all chapters, sorted by the English term (a pandas DataFrame).

    Columns: english, korean, meaning, chapter (first chapter that lists it, e.g. "01"), title
    (that chapter's title) and also_in (later chapters that list it again, e.g. "03, 04").

    >>> table = glossary()
    >>> table.loc[table["english"] == "load balancer", "chapter"].item()
    '03'
    """
    import pandas as pd

    rows: dict[str, dict] = {}
    for path in chapter_notebooks(folder):
        chapter = path.name[:2]
        title = notebook_title(path)
        for term in key_terms(path):
            key = _normalised(term["english"])
            if key in rows:
                if chapter != rows[key]["chapter"] and chapter not in rows[key]["later"]:
                    rows[key]["later"].append(chapter)
                continue
            rows[key] = {**term, "chapter": chapter, "title": title, "later": []}
    if not rows:
        raise ValueError(f"folder {str(folder)!r} holds no chapter notebook with key terms")
    table = pd.DataFrame(
        [{**{k: v for k, v in row.items() if k != "later"}, "also_in": ", ".join(row["later"])}
         for row in rows.values()],
        columns=list(COLUMNS),
    )
    order = table["english"].map(_sort_key).sort_values(kind="stable").index
    return table.loc[order].reset_index(drop=True)


def glossary_markdown(folder=NOTEBOOKS, notebooks_link="../notebooks"):
    """The glossary page as Markdown: one table by the English term, one by the Korean (links to each chapter).

    >>> "| English | 한국어 | meaning | chapter |" in glossary_markdown()
    True
    """
    check.text("notebooks_link", notebooks_link)
    table = glossary(folder)
    files = {p.name[:2]: p.name for p in chapter_notebooks(folder)}
    chapters = len(files)
    lines = [
        "# Glossary · 용어집",
        "",
        f"Every key term of the course's {chapters} chapters, in English and Korean, with what it means in",
        "the course and the chapter that introduces it (later chapters that use it again in brackets).",
        "This page is generated from the chapters' own *Key terms* tables by",
        "`python -m chapter1.glossary`; do not edit it by hand.",
        "",
        f"{len(table)} terms.",
        "",
        "| English | 한국어 | meaning | chapter |",
        "|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        chapter = f"[{row.chapter}]({notebooks_link}/{files[row.chapter]})"
        if row.also_in:
            chapter += f" ({row.also_in})"
        lines.append(f"| {row.english} | {row.korean} | {row.meaning} | {chapter} |")
    lines += ["", "## 한국어 순 · by the Korean term", "", "| 한국어 | English | chapter |", "|---|---|---|"]
    for row in table.sort_values("korean", kind="stable").itertuples(index=False):
        lines.append(f"| {row.korean} | {row.english} | [{row.chapter}]({notebooks_link}/{files[row.chapter]}) |")
    return "\n".join(lines) + "\n"


def write_glossary(path=GLOSSARY_PAGE, folder=NOTEBOOKS):
    """Write the glossary page to ``path`` and return the number of terms.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_glossary(pathlib.Path(tmp) / "glossary.md") > 100
    True
    """
    Path(path).write_text(glossary_markdown(folder), encoding="utf-8")
    return len(glossary(folder))


def _markdown_sources(path):
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing notebook file; got {str(path)!r}")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            source = cell["source"]
            yield "".join(source) if isinstance(source, list) else source


def _table_rows(text, path):
    lines = text.lstrip("\n").splitlines()
    table = []
    for line in lines:
        if not _ROW.match(line):
            break
        table.append(line)
    if len(table) < 3 or not _RULE.match(table[1]):
        raise ValueError(f"path {str(path)!r}: the 'Key terms' heading must be followed by a Markdown table")
    header = _cells(table[0])
    if len(header) != 3 or header[0] != "English":
        raise ValueError(f"path {str(path)!r}: the key-terms table must have columns English | 한국어 | meaning here;"
                         f" got {' | '.join(header)}")
    rows = []
    for line in table[2:]:
        cells = _cells(line)
        if len(cells) != 3 or not all(cells):
            raise ValueError(f"path {str(path)!r}: a key-terms row must have 3 non-empty cells; got {line.strip()!r}")
        rows.append(dict(zip(("english", "korean", "meaning"), cells)))
    return rows


def _cells(line):
    inner = _ROW.match(line).group(1)
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", inner)]


def _normalised(term):
    return " ".join(term.lower().split())


def _sort_key(term):
    return re.sub(r"[^a-z0-9 ]", "", term.lower()).strip()


def page_command(argv, module, page, render, write, counted):
    """The command line of a generated book page: write it, or with ``--check`` exit 1 if it is out of date."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=f"Write book/{page.name} (or check it).")
    parser.add_argument("--check", action="store_true", help="compare with the committed page instead of writing")
    parser.add_argument("--output", type=Path, default=page)
    args = parser.parse_args(argv)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != render():
            print(f"{args.output} is out of date: run python -m {module}", file=sys.stderr)
            return 1
        return 0
    print(f"{args.output}: {write(args.output)} {counted}")
    return 0


def main(argv=None):
    """Write book/glossary.md (or, with ``--check``, exit 1 if it is out of date)."""
    return page_command(argv, "chapter1.glossary", GLOSSARY_PAGE, glossary_markdown, write_glossary, "terms")


if __name__ == "__main__":
    sys.exit(main())
