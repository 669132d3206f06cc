"""Benchmark: grades on a synthetic province slice in a FileStorage (issue 13).

    .venv/bin/python bench/grades.py [--pupils 200000] [--quick] [--keep DIR]

The tree (a province, counties, schools, classes of 50) is made of real nodes;
the marks are written in the application's own format (grades/books.py sheets,
through ``Sheet.add_pupils`` / ``set_column``) for every class, 9 subjects and 4
exams. Timed with the application's code:

- ``grid_submit_p95_s``: ``entry.save`` of one class's column (50 real pupil
  records, a subject teacher) and its commit, 20 times;
- ``county_analysis_s``: ``analysis.analyse`` of one exam, all subjects, for the
  first county (warm: the second of two runs);
- ``bytes_per_mark``: Data.fs growth after a pack, divided by the marks.

- ``guardian_page_p95_s``: a guardian's reads of one pupil's term (``results.pupil_results``
  under the family sight and ``results.term_results``), 200 random pupils, cache emptied first;

- ``report_cards_per_s``: one class's report cards (``cards.card_of`` under the family
  sight for each of its 50 pupils, then ``cards.pdf`` of them all), cards a second (warm:
  the font registered first);

- ``import_marks_per_s``: a whole exam imported from a real xlsx file (the template
  written by ``transfer.template``, filled with marks, read back by ``spreadsheets``,
  checked by ``transfer.read_marks``, written by ``transfer.apply``, committed): 10
  classes of one school × 50 pupils with real records × 9 subjects, marks a second;
The last line is one JSON object of the figures.
"""
import argparse
import array
import json
import os
import random
import shutil
import sys
import tempfile
import time
import types

import transaction
import ZODB
import ZODB.FileStorage
from pyramid.threadlocal import manager
from pyramid.traversal import resource_path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from xueji_site import registrations  # noqa: E402
from xueji_site.grades import analysis, assignments, books, cards, codes, entry, marks, policy, results  # noqa: E402
from xueji_site.kernel import content, crypto  # noqa: E402
from xueji_site.kernel.root import ROOT_KEY, make_site  # noqa: E402
from xueji_site.standards.idnumbers import birth_date_of  # noqa: E402
from stdnum.cn import ric  # noqa: E402

SUBJECTS = ("01", "02", "03", "04", "07", "09", "10", "11", "12")
EXAMS = (codes.UNIT, codes.MIDTERM, codes.DAILY, codes.FINAL)
CLASS_SIZE = 50
TERM = "2026-1"
RECORD = {
    "birthplace": "110105", "native_place": "110105", "nationality": "CHN", "hmt_status": "00", "health": "10",
    "household_place": "110105", "household_type": "2", "enrolled_on": "202409", "enrolment_mode": "11",
    "attendance_mode": "1", "current_address": "北京市朝阳区光华路1号", "mailing_address": "北京市朝阳区光华路1号",
    "home_address": "北京市朝阳区光华路1号", "phone": "13800138000", "postcode": "100020", "left_behind": "0",
}


def _pupil(klass, n, registry):
    body = "1101052012%02d%02d%03d" % (1 + n % 12, 1 + n % 28, n % 1000)
    number = body + ric.calc_check_digit(body + "0")
    values = dict(RECORD, name="学生%03d" % n, gender="12"[n % 2], birth_date=birth_date_of(number),
                  ethnicity="01", id_type="1", id_number=number, registry_no="G" + number)
    return content.create("Student", klass, values, registry)


def build(path, pupils, registry, seed=7):
    storage = ZODB.FileStorage.FileStorage(path)
    db = ZODB.DB(storage, cache_size=200_000)
    conn = db.open()
    site = make_site(registry)
    conn.root()[ROOT_KEY] = site
    province = content.create("Bureau", site, {"code": "110000", "name": "北京市"}, registry)
    classes = pupils // CLASS_SIZE
    counties = max(1, classes // 400)  # ~20,000 pupils a county
    rng = random.Random(seed)
    county_nodes, all_classes = [], []
    for c in range(counties):
        county = content.create("Bureau", province, {"code": "1101%02d" % (c + 1), "name": "区%d" % c}, registry)
        county_nodes.append(county)
        for s in range(20):
            school = content.create("School", county, {"code": "31%02d%06d" % (c % 100, s), "name": "中学%d" % s,
                                                       "address": "", "phone": ""}, registry)
            for k in range(20):
                if len(all_classes) >= classes:
                    break
                all_classes.append(content.create("SchoolClass", school, {"cohort": 2025, "number": k + 1,
                                                                          "name": ""}, registry))
    transaction.commit()
    setup = marks.setup_for(codes.SCORE, 100)
    exams = [books.add_exam(site, province, "考试%d" % i, kind, TERM, (8,), {s: setup for s in SUBJECTS})
             for i, kind in enumerate(EXAMS)]
    before = os.path.getsize(path)
    for n, klass in enumerate(all_classes):
        keys = tuple(("K%s%05d%02d" % (klass.__parent__.code, n, i), "学生%02d" % i) for i in range(CLASS_SIZE))
        for exam in exams:
            sheet = books.sheet_of(exam, klass, create=True)
            sheet.add_pupils(keys)
            for subject in SUBJECTS:
                sheet.set_column(subject, array.array("h", (rng.randint(300, 1000) for _i in range(CLASS_SIZE))))
            books.remember_places(site, sheet, [k for k, _n in keys])
        if n % 100 == 99:
            transaction.commit()
            conn.cacheMinimize()
    transaction.commit()
    marks_written = len(all_classes) * len(exams) * len(SUBJECTS) * CLASS_SIZE
    return db, conn, site, county_nodes, all_classes, exams, before, marks_written


def grid_submits(site, klass, exam, registry, runs=20):
    teacher = site.principals.add_user("bench-maths", "Bench", password="x" * 12)
    assignments.assign(klass, TERM, "02", teacher, registry)
    pupils = [_pupil(klass, n, registry) for n in range(CLASS_SIZE)]
    transaction.commit()
    timings = []
    rng = random.Random(3)
    for run in range(runs):
        cells = {p.__name__: str(rng.randint(30, 100)) for p in pupils}
        started = time.perf_counter()
        entry.save(exam, klass, "02", cells, teacher, reason="bench %d" % run)
        transaction.commit()
        timings.append(time.perf_counter() - started)
    timings.sort()
    return timings[int(0.95 * (len(timings) - 1))]


def guardian_pages(site, classes, registry, runs=200):
    """A guardian's results page's reads: the pupil's exams of the term under the family
    sight, and the term results. The pupils are the synthetic keys of the sheets (the
    functions read only the record's key)."""
    school = classes[0].__parent__
    sight = policy.family_sight(registry, school, codes.JUNIOR)
    rng = random.Random(5)
    timings = []
    for _run in range(runs):
        sheet = books.sheets_under(books.get_exam(site, "E000002"), rng.choice(classes))[0]
        pupil = types.SimpleNamespace(__name__=rng.choice(sheet.pupils))
        started = time.perf_counter()
        lines = results.pupil_results(site, pupil, sight, TERM)
        results.term_results(site, pupil, TERM)
        timings.append(time.perf_counter() - started)
        assert len(lines) == len(EXAMS)
    timings.sort()
    return timings[int(0.95 * (len(timings) - 1))]


def report_cards(site, klass, registry):
    """Cards a second for one class: each pupil's card under the family sight, then the PDF.
    The pupils are the synthetic keys of the class's sheets, named as entered (cards
    read only the record's key, name and class)."""
    sight = policy.family_sight(registry, klass.__parent__, codes.JUNIOR)
    sheet = books.sheets_under(books.get_exam(site, "E000002"), klass)[0]
    pupils = [types.SimpleNamespace(__name__=key, name=name, __parent__=klass)
              for key, name in zip(sheet.pupils, sheet.names)]

    def translate(text):
        return text.interpolate() if hasattr(text, "interpolate") else text

    cards.register_font()
    started = time.perf_counter()
    made = [cards.card_of(site, pupil, TERM, sight, translate) for pupil in pupils]
    data = cards.pdf(made, translate)
    elapsed = time.perf_counter() - started
    assert data.startswith(b"%PDF") and all(len(card.rows) == len(SUBJECTS) for card in made)
    return len(made) / elapsed


def import_marks(site, school, registry, classes=10):
    """Marks a second through the whole-exam import, from the xlsx file to the commit."""
    from xueji_site.grades import transfer
    from xueji_site.kernel import spreadsheets
    from xueji_site.kernel.security import set_local_roles
    office = site.principals.add_user("bench-office", "Bench", password="x" * 12)
    set_local_roles(school, office.userid, ("academic_admin",), registry=registry, user=office)
    taken = [k for k in school.values() if getattr(k, "content_type", None) == "SchoolClass"][-classes:]
    for c, klass in enumerate(taken):
        for n in range(CLASS_SIZE):
            _pupil(klass, 1000 + c * CLASS_SIZE + n, registry)
    setup = marks.setup_for(codes.SCORE, 100)
    exam = books.add_exam(site, school, "导入考试", codes.FINAL, TERM, (8,), {s: setup for s in SUBJECTS},
                          classes=[resource_path(k) for k in taken])
    transaction.commit()

    def plain(text):
        return text.interpolate() if hasattr(text, "interpolate") else str(text)

    rng = random.Random(11)
    head, rows = transfer.template(exam, school, plain)
    rows = list(rows)
    filled = [rows[0]] + [row[:5] + [str(rng.randint(30, 100)) for _s in SUBJECTS] for row in rows[1:]]
    data = spreadsheets.table_file(filled, head, "xlsx")[0]
    started = time.perf_counter()
    table = spreadsheets.open_table(data)
    report = transfer.read_marks(site, exam, school, spreadsheets.read_rows(table), office, translate=plain)
    entered, changed = transfer.apply(report, transfer.ALL)
    transaction.commit()
    elapsed = time.perf_counter() - started
    assert not report.errors and entered == len(taken) * CLASS_SIZE * len(SUBJECTS), (report.errors, entered)
    return entered / elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pupils", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="10,000 pupils: under a minute")
    parser.add_argument("--keep", help="build the database in DIR and keep it")
    args = parser.parse_args(argv)
    pupils = 10_000 if args.quick else args.pupils
    registry = registrations(("xueji_site.grades",))
    manager.push({"registry": registry, "request": None})
    where = args.keep or tempfile.mkdtemp(prefix="xueji-grades-bench-")
    os.makedirs(where, exist_ok=True)
    crypto.install(crypto.load_key_file(str(crypto.create_key_file(os.path.join(where, "bench.key")))))
    path = os.path.join(where, "Data.fs")
    try:
        started = time.perf_counter()
        db, conn, site, counties, classes, exams, before, written = build(path, pupils, registry)
        print("built %d marks in %.1f s" % (written, time.perf_counter() - started), file=sys.stderr)
        county = counties[0]
        analysis.analyse(exams[1], county, resource_path(county))
        started = time.perf_counter()
        analysis.analyse(exams[1], county, resource_path(county))
        county_s = time.perf_counter() - started
        db.pack()
        bytes_per_mark = (os.path.getsize(path) - before) / written
        conn.cacheMinimize()
        guardian_p95 = guardian_pages(site, classes, registry)
        grid_p95 = grid_submits(site, classes[0], exams[1], registry)
        cards_per_s = report_cards(site, classes[1], registry)
        import_per_s = import_marks(site, classes[0].__parent__, registry)
        conn.close()
        db.close()
        figures = {"pupils": pupils, "marks": written, "grid_submit_p95_s": round(grid_p95, 4),
                   "county_analysis_s": round(county_s, 4), "guardian_page_p95_s": round(guardian_p95, 4),
                   "bytes_per_mark": round(bytes_per_mark, 1), "import_marks_per_s": round(import_per_s),
                   "report_cards_per_s": round(cards_per_s, 1)}
        print(json.dumps(figures))
    finally:
        manager.pop()
        if not args.keep:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
