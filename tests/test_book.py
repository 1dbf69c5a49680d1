"""The static HTML book, its generated glossary and reference tables.

The staging and the site checks are tested on their own (they find what they are meant to find);
the built site (``make book``, which CI runs before the tests) is inspected when it exists: no
outside load, every local link resolves, every notebook has its page, the glossary page lists
every term, each live panel shows its chart. Outside CI a missing site skips those tests.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from pathlib import Path

import pytest
import yaml

from chapter1 import book, glossary, reference

REPO = Path(__file__).resolve().parents[1]
SITE = book.SITE


def notebook_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def widget_views(notebook):
    return [o for c in notebook["cells"] for o in c.get("outputs", []) if book.WIDGET_VIEW in o.get("data", {})]


# --------------------------------------------------------------------------
# Staging: what the book shows
# --------------------------------------------------------------------------

@pytest.mark.parametrize("path", book.course_notebooks(REPO / "notebooks"), ids=lambda p: p.name)
def test_every_live_panel_becomes_its_first_chart_and_no_widget_state_remains(path):
    original = notebook_json(path)
    shown = book.book_notebook(original, f"notebooks/{path.name}")
    views = widget_views(original)
    assert widget_views(shown) == []
    assert "widgets" not in shown["metadata"]
    assert shown["metadata"]["chapter1_book"]["panels"] == len(views)
    snapshots = [o["data"]["text/html"] for c in shown["cells"] for o in c.get("outputs", [])
                 if "chapter1-snapshot" in o.get("data", {}).get("text/html", "")]
    assert len(snapshots) == len(views)
    for snapshot in snapshots:
        assert "<svg" in snapshot, "a panel's snapshot has no chart"
        assert "Settings:" in snapshot and f"notebooks/{path.name}" in snapshot
    ids = [c.get("id") for c in shown["cells"]]
    assert len(set(ids)) == len(ids)
    assert [c.get("id") for c in original["cells"]] == [i for i in ids if not i.startswith("book-")]
    assert "widgets" in original["metadata"] or not views, "book_notebook must not change its argument"


def test_a_snapshot_shows_the_panels_settings_headline_and_chart():
    original = notebook_json(REPO / "notebooks" / "04_load_balancer.ipynb")
    state = original["metadata"]["widgets"][book.WIDGET_STATE]["state"]
    view = widget_views(original)[0]["data"][book.WIDGET_VIEW]["model_id"]
    snapshot = book.panel_snapshot(view, state)

    def descendants(model_id):
        model = state[model_id]
        yield model
        for child in model["state"].get("children", []):
            yield from descendants(child.removeprefix("IPY_MODEL_"))

    sliders = {m["state"]["description"]: m["state"]["value"] for m in descendants(view)
               if m["model_name"] == "IntSliderModel"}
    assert f"servers = {sliders['servers']}" in snapshot
    assert snapshot.index("Settings:") < snapshot.index("chapter1-headline") < snapshot.index("<svg")
    assert "new run" not in snapshot, "buttons are not settings"


def test_the_table_of_contents_lists_every_notebook(tmp_path):
    count = book.stage(REPO, tmp_path / "src")
    toc = yaml.safe_load((tmp_path / "src" / "_toc.yml").read_text(encoding="utf-8"))
    listed = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    expected = [f"{folder}/{p.stem}" for folder in book.FOLDERS for p in book.course_notebooks(REPO / folder)]
    assert [f for f in listed if not f.startswith("book/")] == expected
    assert count == len(expected)
    assert "notebooks/13_capstone" in listed or not (REPO / "notebooks" / "13_capstone.ipynb").exists()
    for entry in listed + [toc["root"]]:
        assert list((tmp_path / "src").glob(entry + ".*")), f"{entry} is in the toc but not staged"


def test_the_site_checks_find_outside_loads_and_broken_links(tmp_path):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "theme.css").write_text("")
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="_static/theme.css"><a href="https://example.org/">ok: a plain link</a>'
        '<a href="page.html#top">ok</a><a href="#here">ok</a>')
    (tmp_path / "page.html").write_text(
        '<script src="https://cdn.example.org/require.js"></script><img src="//cdn.example.org/x.png">'
        '<link href="http://fonts.example.org/font.css" rel="stylesheet"><a href="missing.html">x</a>'
        '<img src="_static/nothing.png">')
    assert book.external_loads(tmp_path) == [
        ("page.html", "script", "https://cdn.example.org/require.js"),
        ("page.html", "img", "//cdn.example.org/x.png"),
        ("page.html", "link", "http://fonts.example.org/font.css"),
    ]
    assert book.broken_links(tmp_path) == [("page.html", "missing.html"), ("page.html", "_static/nothing.png")]
    with pytest.raises(RuntimeError, match="5 problem"):
        book.check_site(tmp_path)
    (tmp_path / "page.html").write_text('<script src="_static/theme.css"></script><a href="index.html">x</a>')
    book.check_site(tmp_path)


def test_the_book_extra_pins_jupyter_book_1():
    assert "jupyter-book>=1.0.4,<2" in book.requirements()


# --------------------------------------------------------------------------
# The built site
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").is_file():
        reason = f"no built book at {SITE}: run make book"
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"CI runs make book before the tests, but there is {reason}", pytrace=False)
        pytest.skip(reason)
    return SITE


def test_the_built_book_loads_nothing_from_outside_and_its_links_resolve(site):
    book.check_site(site)
    # The same question asked with a regular expression, not the checker's parser.
    tag = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?((?:https?:)?//[^\"' >]+)", re.I)
    outside = [(p.name, m.group(3)) for p in book.site_pages(site) for m in tag.finditer(p.read_text())]
    assert outside == []
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file(), "MathJax must be served from the site"


def test_every_notebook_has_its_page_with_its_charts(site):
    for folder in book.FOLDERS:
        for path in book.course_notebooks(REPO / folder):
            page = site / folder / f"{path.stem}.html"
            assert page.is_file(), f"{page} missing"
            original = notebook_json(path)
            svgs = sum("image/svg+xml" in o.get("data", {}) for c in original["cells"] for o in c.get("outputs", []))
            text = page.read_text(encoding="utf-8")
            charts = text.count("<svg") + len(re.findall(r"<img[^>]*\bsrc=\"[^\"]+\.svg\"", text))
            assert charts >= svgs + len(widget_views(original)), f"{page.name} lost charts"
            assert text.count('class="chapter1-snapshot"') == len(widget_views(original))
    for name in ("search.html", "searchindex.js", "book/glossary.html", "book/reference.html"):
        assert (site / name).is_file(), name


def test_the_glossary_page_lists_every_term(site):
    text = (site / "book" / "glossary.html").read_text(encoding="utf-8")
    by_english, by_korean = _two_tables(text)
    table = glossary.glossary()
    expected = {(_plain(en), _plain(ko)) for en, ko in zip(table["english"], table["korean"])}
    for cells, swap in ((by_english, False), (by_korean, True)):
        shown = {(_plain(b), _plain(a)) if swap else (_plain(a), _plain(b)) for a, b in cells}
        assert expected <= shown, sorted(expected - shown)[:5]
        assert len(cells) == len(table)


def _two_tables(text):
    tables = re.findall(r"<table.*?</table>", text, re.S)
    assert len(tables) == 2, "the glossary page has a table by English and one by Korean"
    row = re.compile(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>", re.S)
    return [row.findall(t) for t in tables]


def _plain(fragment):
    fragment = re.sub(r"<[^>]+>", "", fragment).replace("`", "").replace("*", "").replace("\u2019", "'")
    return " ".join(html.unescape(fragment).split())


# --------------------------------------------------------------------------
# The glossary
# --------------------------------------------------------------------------

CORE_TERMS = [
    ("scalability", "규모 확장성"), ("queueing theory", "대기행렬 이론"), ("health check", "헬스 체크"),
    ("load balancer", "로드밸런서"), ("single point of failure", "단일 장애 지점"), ("latency", "응답 지연"),
    ("availability", "가용성"), ("failover", "자동 복구"), ("database replication", "다중화"),
    ("cache", "캐시"), ("content delivery network", "콘텐츠 전송 네트워크"), ("stateless web tier", "무상태"),
    ("data centre", "데이터 센터"), ("message queue", "메시지 큐"), ("metric", "메트릭"), ("sharding", "샤딩"),
    ("consistent hashing", "안정 해시"), ("daily active users", "일간 활성 사용자"), ("throughput", "처리량"),
    ("automation", "자동화"),
]


def test_the_committed_glossary_and_reference_pages_are_regenerated_exactly():
    assert (REPO / "book" / "glossary.md").read_text(encoding="utf-8") == glossary.glossary_markdown(), (
        "book/glossary.md is out of date: run python -m chapter1.glossary")
    assert (REPO / "book" / "reference.md").read_text(encoding="utf-8") == reference.reference_markdown(), (
        "book/reference.md is out of date: run python -m chapter1.reference")


@pytest.mark.parametrize("english, korean", CORE_TERMS, ids=[e for e, _ in CORE_TERMS])
def test_a_core_term_is_in_the_glossary(english, korean):
    table = glossary.glossary()
    rows = table[table["english"].str.lower().str.contains(re.escape(english))]
    assert len(rows), f"no glossary term mentions {english!r}: add it to a chapter's Key terms table"
    assert rows["korean"].str.contains(korean).any(), f"{english!r} is not given as {korean!r} in Korean"


def test_a_term_in_several_chapters_is_one_row_credited_to_the_first():
    seen: dict[str, list[str]] = {}
    for path in glossary.chapter_notebooks():
        for term in glossary.key_terms(path):
            chapters = seen.setdefault(" ".join(term["english"].lower().split()), [])
            if path.name[:2] not in chapters:
                chapters.append(path.name[:2])
    table = glossary.glossary()
    assert len(table) == len(seen) and table["english"].str.lower().is_unique
    repeated = {k: v for k, v in seen.items() if len(v) > 1}
    assert repeated, "some terms (failover, availability) appear in several chapters"
    for english, chapter, also in zip(table["english"], table["chapter"], table["also_in"]):
        chapters = seen[" ".join(english.lower().split())]
        assert chapter == chapters[0] and also == ", ".join(chapters[1:])
    assert list(table["english"].str.lower()) == sorted(table["english"].str.lower(), key=glossary._sort_key)


def test_a_notebook_without_a_key_terms_table_is_refused(tmp_path):
    def write(name, source):
        cells = [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": source}]
        path = tmp_path / name
        path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
        return path

    header = "| English | 한국어 | meaning here |\n|---|---|---|\n"
    with pytest.raises(ValueError, match="no Markdown cell with a 'Key terms'"):
        glossary.key_terms(write("01_a.ipynb", "# Title\n\nNo table."))
    with pytest.raises(ValueError, match="3 non-empty cells"):
        glossary.key_terms(write("02_b.ipynb", f"## Key terms\n\n{header}| x | y |"))
    good = write("03_c.ipynb", f"## 4. Key terms\n\n{header}| a \\| b | 가 | m |")
    assert glossary.key_terms(good) == [{"english": "a \\| b", "korean": "가", "meaning": "m"}]
    with pytest.raises(ValueError, match="folder must be a directory"):
        glossary.glossary(tmp_path / "nowhere")


# --------------------------------------------------------------------------
# The reference tables
# --------------------------------------------------------------------------

def test_the_nines_are_the_downtime_of_a_365_25_day_year():
    from chapter1.metrics import error_budget_min

    table = reference.nines()
    assert list(table["availability"]) == list(reference.NINES)
    for row in table.itertuples():
        down = 1 - row.availability
        assert math.isclose(row.year_min, down * 365.25 * 24 * 60, rel_tol=1e-12)
        assert math.isclose(row.day_min, down * 24 * 60, rel_tol=1e-12)
        assert math.isclose(row.month_min, error_budget_min(row.availability), rel_tol=1e-12)
    three = table[table["availability"] == 0.999].iloc[0]
    shown = (three.nines, three.per_year, three.per_month, three.per_day)
    assert shown == ("three nines", "8.8 h", "43.8 min", "86.4 s")
    with pytest.raises(ValueError, match="availability"):
        reference.nines((1.5,))


def test_the_latency_table_is_sorted_and_sourced():
    table = reference.latency_numbers()
    assert table["ns"].is_monotonic_increasing
    assert "2020" in reference.LATENCY_SOURCE and "Dean" in reference.LATENCY_SOURCE
    fibre = table[table["operation"].str.contains("11,000 km")]
    assert fibre["ns"].item() == pytest.approx(2 * 11_000 / 200_000 * 1e9)  # 200,000 km/s in fibre


def test_each_formula_names_a_chapter_and_its_example_matches_the_closed_form():
    table = reference.formulas().set_index("formula")
    chapters = {p.name[:2] for p in glossary.chapter_notebooks()}
    assert set(table["chapter"]) <= chapters
    a = 5.0  # Erlang C with 8 workers at an offered load of 5 Erlangs, written out
    top = a**8 / math.factorial(8) * 8 / (8 - a)
    erlang = top / (sum(a**k / math.factorial(k) for k in range(8)) + top)
    k_of_n = sum(math.comb(4, j) * 0.99**j * 0.01 ** (4 - j) for j in (3, 4))
    expected = {
        "Little's law L = λ W": 100 * 0.2,
        "M/M/1: W = 1 / (μ − λ)": 1 / (100 - 80),
        "M/M/1: t₉₅ = ln 20 / (μ − λ)": math.log(20) / (100 - 80),
        "Erlang C: P(wait) = C(c, λ/μ)": erlang,
        "M/M/c: W = C / (c μ − λ) + 1 / μ": erlang / (8 * 20 - 100) + 1 / 20,
        "k of n: A = Σⱼ≥ₖ C(n, j) aʲ (1 − a)ⁿ⁻ʲ": k_of_n,
        "modulo: moved = 1 − min(n, m) / lcm(n, m)": 1 - 4 / 20,
        "ring: moved = abs(m − n) / max(n, m)": 1 / 5,
        "drain = backlog / (c μ − λ)": 600 / (60 - 50),
        "headroom = (N − 1) / N": 2 / 3,
        "database load = r (1 − w)(1 − h) + r w": 1_000 * 0.9 * 0.2 + 100,
        "tandem: W = W₁ + W₂ + ...": 1 / (100 - 50) + 1 / (80 - 50),
        "detection ≈ interval / 2 + for": 15 / 2 + 60,
        "Amdahl: C(N) = N / (1 + σ (N − 1))": 64 / (1 + 0.01 * 63),
        "USL: C(N) = N / (1 + σ (N − 1) + κ N (N − 1))": 64 / (1 + 0.01 * 63 + 0.0001 * 64 * 63),
    }
    for formula, value in expected.items():
        assert table.loc[formula, "value"] == pytest.approx(value, rel=1e-9), formula
