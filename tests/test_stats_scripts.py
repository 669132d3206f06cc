"""xueji-stats and xueji-reindex, run in-process against a FileStorage site
filled by xueji-demo."""
import csv
import io

import openpyxl
import pytest

from xueji_site.kernel import crypto
from xueji_site.scripts import demo, init, reindex, stats
from .test_scripts import opened, password_file, write_ini

STUDENTS = 240


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("stats")
    previous = crypto._current
    ini = write_ini(directory)
    pw = password_file(directory)
    try:
        assert init.main([str(ini), "--password-file", str(pw)]) == 0
        assert demo.main([str(ini), "--students", str(STUDENTS), "--seed", "3", "--school-year", "2024",
                          "--password-file", str(pw)]) == 0
    finally:
        crypto.install(previous)
    return directory


@pytest.fixture
def run(site_dir):
    def call(module, *args):
        previous = crypto._current
        try:
            return module.main([str(site_dir / "test.ini")] + [str(a) for a in args])
        finally:
            crypto.install(previous)
    return call


def test_stats_csv_xlsx_html(site_dir, run, capsys):
    out = site_dir / "enrolment.csv"
    assert run(stats, "--report", "enrolment", "--scope", "/", "--format", "csv", "--output", out) == 0
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert rows[0] == ["学段 年级", "男", "女", "合计"] and rows[-1][0] == "合计"
    assert int(rows[-1][-1]) == STUDENTS
    assert "enrolment" in capsys.readouterr().out
    xlsx = site_dir / "special.xlsx"
    assert run(stats, "--report", "special", "--scope", "/330000", "--format", "xlsx", "--output", xlsx) == 0
    assert next(openpyxl.load_workbook(xlsx).active.iter_rows(values_only=True))[0] == "群体"
    html = site_dir / "eth.html"
    assert run(stats, "--report", "ethnicity", "--scope", "/330000", "--format", "html", "--output", html,
               "--locale", "en") == 0
    text = html.read_text("utf-8")
    assert "<svg" in text and "<script" not in text and "<table" in text
    with opened(site_dir) as site:
        exports = site.audit.newest(lambda e: e.action == "export")
        assert sorted(dict(e.detail)["report"] for e in exports) == ["enrolment", "ethnicity", "special"]


def test_stats_refuses_bad_arguments(run, capsys):
    assert run(stats, "--report", "enrolment", "--scope", "/999999") == 2
    assert "找不到节点" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(stats, "--report", "no-such-report", "--scope", "/")  # issue 5: "graduates" is available now


def test_reindex_rebuilds_everything_and_a_scope(site_dir, run, capsys):
    with opened(site_dir) as site:
        before = {name: len(site.catalog[name].applyEq("1")) for name in ("gender",)}
        documents = len(site.docmap)
    assert run(reindex, "--batch", "100") == 0
    assert ("reindexed %d" % documents) in capsys.readouterr().out
    with opened(site_dir) as site:
        assert len(site.catalog["gender"].applyEq("1")) == before["gender"] > 0
        assert len(site.catalog["text"]._fwd_index) > 0
        county = next(iter(site["330000"].values())).__name__
    assert run(reindex, "--scope", "/330000/" + county) == 0
    assert "reindexed" in capsys.readouterr().out
