"""xueji-grades, in-process against a FileStorage site filled by xueji-demo (whose
demo class has a mid-term exam with marks): the export is the template, an import
with a bad row changes nothing unless --valid-only, a rerun changes nothing, and
bad arguments get a message and a non-zero exit, never a traceback."""
import openpyxl
import pytest

from xueji_site.grades import books
from xueji_site.kernel import crypto
from xueji_site.scripts import demo, grades, init
from .test_scripts import opened, password_file, write_ini


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("grades-script")
    previous = crypto._current
    ini = write_ini(directory)
    pw = password_file(directory)
    try:
        assert init.main([str(ini), "--password-file", str(pw)]) == 0
        assert demo.main([str(ini), "--students", "40", "--seed", "5", "--school-year", "2024",
                          "--password-file", str(pw)]) == 0
    finally:
        crypto.install(previous)
    return directory


def _run(site_dir, *args):
    previous = crypto._current
    try:
        return grades.main([str(site_dir / "test.ini")] + [str(a) for a in args])
    finally:
        crypto.install(previous)


def _school_and_sheet(site_dir):
    with opened(site_dir) as site:
        [exam] = list(books.store(site).exams.values())
        [sheet] = list(exam.sheets.values())
        return exam.home_path, exam.id, sheet.class_path, {s: list(sheet.column(s)) for s in exam.subjects}


def _edit(path, changes):
    """Set cells of the exported file by (pupil row index, subject code)."""
    book = openpyxl.load_workbook(path)
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if "姓名" in [str(c) for c in r if c is not None])
    titles = [str(c or "") for c in rows[head]]
    for (index, subject), text in changes.items():
        column = next(i for i, t in enumerate(titles) if t.endswith("(%s)" % subject))
        sheet.cell(row=head + 2 + index, column=column + 1, value=text)
    book.save(path)


def test_export_then_import_with_a_bad_row_then_valid_only_then_rerun(site_dir, capsys):
    school, exam_id, _class, before = _school_and_sheet(site_dir)
    out = site_dir / "marks.xlsx"
    assert _run(site_dir, "--export", exam_id, "--at", school, "--out", out) == 0
    assert exam_id in capsys.readouterr().out
    subject = sorted(before)[0]
    _edit(out, {(0, subject): "99.5", (1, subject): "999"})
    args = ("--import", out, "--exam", exam_id, "--at", school, "--as", "demo.academic", "--reason", "复核试卷")
    assert _run(site_dir, *args) == 1
    said = capsys.readouterr()
    assert "满分" in said.err and "nothing imported" in said.err
    assert _school_and_sheet(site_dir)[3] == before
    report = site_dir / "report.csv"
    assert _run(site_dir, *args, "--valid-only", "--report", report) == 0
    assert "changed 1" in capsys.readouterr().out and "有错误" in report.read_text("utf-8-sig")
    after = _school_and_sheet(site_dir)[3]
    assert after[subject].count(995) == 1 + before[subject].count(995)
    assert _run(site_dir, *args, "--valid-only") == 0  # the same file again
    assert "entered 0, changed 0" in capsys.readouterr().out
    assert _school_and_sheet(site_dir)[3] == after


@pytest.mark.parametrize("args, says", [
    (("--import", "x.xlsx", "--at", "/"), "--exam"),
    (("--export", "E999999", "--at", "/"), "没有该考试"),
    (("--export", "E000001", "--at", "/nowhere"), "找不到节点"),
    (("--export", "E000001", "--at", "/", "--out", "marks.pdf"), ".xlsx or .csv"),
])
def test_bad_arguments_get_a_message_and_a_non_zero_exit(site_dir, capsys, args, says):
    try:
        code = _run(site_dir, *args)
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code != 0 and says in capsys.readouterr().err
