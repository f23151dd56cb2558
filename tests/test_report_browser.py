"""The report browser on tiny hand-made pages and on a real one-rule Snakemake report, so
that a failing report test means the report, not the harness."""

from __future__ import annotations

import struct
import subprocess
import textwrap
import zlib
from pathlib import Path

import pytest
from report_browser import Browser, BrowserTimeout, check_report, requires_chromium

pytestmark = requires_chromium


def tiny_png(width: int, height: int) -> bytes:
    """A valid RGB PNG of the given size, made by hand so no imaging package is needed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\0" + b"".join(bytes((17 * x % 256, 90, 200)) for x in range(width))
                    for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


@pytest.fixture(scope="module")
def shared_browser():
    with Browser(timeout=20) as browser:
        yield browser


@pytest.fixture
def browser(shared_browser: Browser) -> Browser:
    shared_browser.errors.clear()
    return shared_browser


def page(tmp_path: Path, body: str, name: str = "page.html") -> Path:
    path = tmp_path / name
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head>"
                    f"<body>{body}</body></html>", encoding="utf-8")
    return path


def test_a_throwing_script_is_an_error(browser: Browser, tmp_path: Path):
    browser.open(page(tmp_path, "<p>hi</p><script>throw new Error('kaput here')</script>"))
    browser.settle(0.2)
    assert any("uncaught exception" in e and "kaput here" in e for e in browser.errors), \
        browser.errors


def test_console_error_and_assert_are_errors_but_log_is_not(browser: Browser, tmp_path: Path):
    browser.open(page(tmp_path, "<script>console.log('fine'); console.warn('meh');"
                                "console.error('bad value', 42); console.assert(1 === 2, 'odd')"
                                "</script>"))
    browser.settle(0.2)
    assert "console.error: bad value 42" in browser.errors
    assert any(e.startswith("console.assert") and "odd" in e for e in browser.errors)
    assert not any("fine" in e or "meh" in e for e in browser.errors)


def test_a_quiet_page_has_no_errors(browser: Browser, tmp_path: Path):
    browser.open(page(tmp_path, "<p id='x'>quiet</p>"))
    browser.settle(0.1)
    assert browser.errors == []
    assert browser.evaluate("document.getElementById('x').textContent") == "quiet"
    assert browser.evaluate("new Promise((ok) => setTimeout(() => ok(7), 20))") == 7


def test_an_image_renders_with_its_natural_size(browser: Browser, tmp_path: Path):
    (tmp_path / "tiny.png").write_bytes(tiny_png(7, 3))
    browser.open(page(tmp_path, "<img id='i' src='tiny.png'><img id='b' src='nothing.png'>"))
    size = browser.evaluate("(async () => { const i = document.getElementById('i');"
                            "await i.decode(); return [i.naturalWidth, i.naturalHeight]; })()")
    assert size == [7, 3]
    assert browser.evaluate("document.getElementById('b').naturalWidth") == 0
    shot = browser.screenshot(tmp_path / "shot.png", 320, 200)
    assert png_size(shot) == (320, 200)
    assert png_size(browser.screenshot(tmp_path / "full.png")) == (browser.width, browser.height)
    assert any("nothing.png" in e or "ERR_FILE_NOT_FOUND" in e for e in browser.errors)


def test_a_table_in_a_data_iframe_is_found_through_the_frame_tree(browser: Browser,
                                                                    tmp_path: Path):
    table = "<table><tr><th>a</th></tr><tr><td>1</td></tr><tr><td>2</td></tr></table>"
    browser.open(page(tmp_path, f'<iframe id="f" src="data:text/html,{table}"></iframe>'))
    # A data: document is cross-origin: the page itself cannot look inside it ...
    assert browser.evaluate("document.getElementById('f').contentDocument === null")
    # ... but its own execution context can.
    frame = browser.frame_of("document.getElementById('f')")
    browser.wait_for("document.readyState === 'complete'", 10, frame=frame)
    assert browser.evaluate("document.querySelectorAll('td').length", frame=frame) == 2


def test_waits_time_out_with_a_clear_message(browser: Browser, tmp_path: Path):
    browser.open(page(tmp_path, "<p>never</p>"))
    with pytest.raises(BrowserTimeout, match="waiting for the moon"):
        browser.wait_for("false", 0.3, "the moon")


def test_close_ends_chromium_and_removes_its_profile():
    browser = Browser(timeout=20)
    browser.start()
    process, profile = browser._proc, Path(browser._profile)
    assert profile.is_dir() and process.poll() is None
    browser.close()
    assert process.poll() is not None and not profile.exists()


# -- a real, tiny Snakemake report ---------------------------------------------------------

SNAKEFILE = """
report: "description.rst"

rule all:
    input: "out/table.html", "out/loss_yes.png", "out/loss_no.png", "out/bare.png",
           "out/notes.md", "out/empty.html", "out/same_a.png", "out/same_b.png"

rule make:
    input: small="small.png", wide="wide.png", table="table.html"
    output:
        table=report("out/table.html", category="Tables", caption="caption.rst",
                     labels={"table": "scores"}),
        yes=report("out/loss_yes.png", category="Figures", subcategory="loss",
                   labels={"figure": "loss", "legend": "yes"}),
        no=report("out/loss_no.png", category="Figures", subcategory="loss",
                  labels={"figure": "loss", "legend": "no"}),
        bare=report("out/bare.png", category="Figures", subcategory="accuracy"),
        notes=report("out/notes.md", category="Notes", labels={"notes": "out/notes.md"}),
        empty=report("out/empty.html", category="Tables", labels={"table": "none"}),
        same_a=report("out/same_a.png", category="Figures", subcategory="same",
                      labels={"figure": "twin"}),
        same_b=report("out/same_b.png", category="Figures", subcategory="same",
                      labels={"figure": "twin"}),
    shell:
        "cp {input.table} {output.table} && cp {input.small} {output.yes} && "
        "cp {input.wide} {output.no} && cp {input.small} {output.bare} && "
        "echo '# notes' > {output.notes} && echo '<p>no table here</p>' > {output.empty} && "
        "cp {input.small} {output.same_a} && cp {input.wide} {output.same_b}"
"""


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory):
    """A one-rule workflow's report: a table, a toggled pair of PNGs, an unlabelled PNG
    and a markdown file (which the report can only offer as a download)."""
    folder = tmp_path_factory.mktemp("tiny_report")
    (folder / "Snakefile").write_text(textwrap.dedent(SNAKEFILE))
    (folder / "description.rst").write_text("A tiny report for the browser test.\n")
    (folder / "caption.rst").write_text("Scores of the two toy runs.\n")
    (folder / "small.png").write_bytes(tiny_png(6, 4))
    (folder / "wide.png").write_bytes(tiny_png(30, 5))
    (folder / "table.html").write_text(
        "<html><body><table><tr><th>run</th><th>score</th></tr><tr><td>a</td><td>1</td>"
        "</tr><tr><td>b</td><td>2</td></tr><tr><td>c</td><td>3</td></tr></table></body></html>")
    for args in (["--cores", "1"], ["--report", "r.html"]):
        done = subprocess.run(["snakemake", *args], cwd=folder, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    return check_report(folder / "r.html", screenshots=folder / "shots"), folder


def entry(check, path: str):
    return next(e for e in check.entries if e.path == path)


def test_tiny_report_shows_tables_and_images(tiny_report):
    check, _ = tiny_report
    assert {e.path for e in check.entries} == {
        "out/table.html", "out/loss_yes.png", "out/loss_no.png", "out/bare.png",
        "out/notes.md", "out/empty.html", "out/same_a.png", "out/same_b.png"}
    table = entry(check, "out/table.html")
    assert (table.kind, table.rows, table.problems, table.errors) == ("html", 3, [], [])
    assert table.caption == "Scores of the two toy runs."
    assert table.labels == {"table": "scores"}
    # the two toggled entries share one row: reaching both means flipping the toggle
    yes, no = entry(check, "out/loss_yes.png"), entry(check, "out/loss_no.png")
    assert (yes.kind, yes.width, yes.height, yes.problems) == ("image", 6, 4, [])
    assert (no.kind, no.width, no.height, no.problems) == ("image", 30, 5, [])
    assert check.errors == []
    assert "A tiny report for the browser test." in check.home_text


def test_tiny_report_flags_what_a_reader_cannot_see(tiny_report):
    check, _ = tiny_report
    notes = entry(check, "out/notes.md")
    assert notes.kind == "download"
    assert any(p.startswith("download-only") for p in notes.problems), notes.problems
    assert any("is a path" in p for p in notes.problems), notes.problems
    bare = entry(check, "out/bare.png")   # shown, but the navbar can only list its path
    assert (bare.width, bare.height) == (6, 4)
    assert bare.problems == ["has no labels (the navbar shows its raw path)"]
    empty = entry(check, "out/empty.html")   # an html page without a table or an image
    assert [p.split(":")[0] for p in empty.problems] == ["renders empty"]
    # two entries with the same labels share one row, which opens only one of them
    same_a, same_b = entry(check, "out/same_a.png"), entry(check, "out/same_b.png")
    assert "shows out/same_b.png instead" in " ".join(same_a.problems)
    assert same_b.problems == []
    assert not check.ok
    failing = {line.split(":")[0] for line in check.failures()}
    assert failing == {"out/notes.md", "out/bare.png", "out/empty.html", "out/same_a.png"}
    assert check.counts() == {"Tables": {"entries": 2, "ok": 1, "failed": 1},
                              "Figures": {"entries": 5, "ok": 3, "failed": 2},
                              "Notes": {"entries": 1, "ok": 0, "failed": 1}}


def test_tiny_report_screenshots(tiny_report):
    check, folder = tiny_report
    names = sorted(p.name for p in (folder / "shots").iterdir())
    shown = [e for e in check.entries if e.kind != "download"]
    assert "00_home.png" in names and len(names) == 1 + len(shown) == 8
    assert all(png_size(folder / "shots" / name) == (1280, 900) for name in names)
    assert all(e.screenshot is None for e in check.entries if e.kind == "download")
