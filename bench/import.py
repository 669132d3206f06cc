"""Import benchmark: N valid pupils from an xlsx into a fresh FileStorage.

    .venv/bin/python bench/import.py [--rows 100000] [--batch 500] [--profile]

1. generates the xlsx in a child process (so its memory does not count);
2. imports it through xueji_site.imports.importing — reading, schema validation,
   one-person-one-record look-ups, sealing, catalog indexing, audit — in
   one pass (like ``xueji-import --only-valid``), committing every --batch
   rows and trimming the cache like the console script;
3. in the same run, inserts the same records as plain Student objects into
   an OOBTree in another fresh FileStorage, same batch size, no validation,
   no catalog, no audit;
and prints rows/s for both, their ratio and the peak RSS of the import.
"""
import argparse
import cProfile
import datetime
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from xueji_site.kernel.root import database, databases

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from stdnum.cn import ric  # noqa: E402

CLASSES = 100
COUNTY = "110105"
SCHOOL = "2111000001"


def cohort():
    from xueji_site.tree.nodes import school_year
    return school_year()


def record(i, year):
    """Pupil ``i`` of a grade-1 cohort starting in ``year`` (valid, distinct ID)."""
    born = datetime.date(year - 7, 9, 2) + datetime.timedelta(days=i % 364)
    gender = "1" if i % 2 else "2"
    body = "%s%s%03d" % (COUNTY, born.strftime("%Y%m%d"), (i // 364) * 2 % 1000 + (i % 2))
    number = body + ric.calc_check_digit(body + "0")
    return {"姓名": "学生" + "甲乙丙丁戊己庚辛壬癸"[i % 10] + "天地人和"[i // 10 % 4], "性别": gender,
            "出生日期": born, "出生地": COUNTY, "籍贯": COUNTY, "民族": "汉族", "国籍/地区": "CHN",
            "证件类型": "1", "证件号码": number, "户口所在地": COUNTY, "户口性质": "2",
            "入学年月": "%d09" % year, "入学方式": "11", "现住址": "北京市朝阳区光华路1号",
            "通信地址": "北京市朝阳区光华路1号", "家庭地址": "北京市朝阳区光华路1号",
            "联系电话": "13800138000", "邮政编码": "100020",
            "班级": "%04d-%02d" % (year, i % CLASSES + 1)}


def generate(path, rows):
    from openpyxl import Workbook
    year = cohort()
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    header = list(record(0, year))
    sheet.append(header)
    for i in range(rows):
        values = record(i, year)
        sheet.append([values[h] for h in header])
    book.save(path)


# -- the import through importing.py ----------------------------------------------------

def make_app(directory, key_file):
    from xueji_site import main
    settings = {"zodbconn.uri": "file://%s/Data.fs?connection_cache_size=100000" % directory,
                "xueji.key_file": key_file, "xueji.session_secret": "bench-" + "x" * 40,
                "xueji.secure_cookies": "false", "xueji.bcrypt_rounds": "4"}
    return main({}, **settings)


def build_school(app):
    import transaction
    from pyramid.threadlocal import manager
    from xueji_site.kernel import content
    from xueji_site.kernel.root import get_site
    db = database(app.registry)
    conn = db.open()
    manager.push({"registry": app.registry, "request": None})
    try:
        site = get_site(conn)
        province = content.create("Bureau", site, {"code": "110000", "name": "北京市"}, app.registry)
        county = content.create("Bureau", province, {"code": COUNTY, "name": "朝阳区"}, app.registry)
        school = content.create("School", county, {"code": SCHOOL, "name": "基准小学", "address": "",
                                                   "phone": ""}, app.registry)
        for number in range(1, CLASSES + 1):
            content.create("SchoolClass", school, {"cohort": cohort(), "number": number, "name": ""},
                           app.registry)
        transaction.commit()
    finally:
        manager.pop()
        conn.close()


def run_import(app, data, batch):
    import transaction
    from pyramid.threadlocal import manager
    from xueji_site.kernel import audit, spreadsheets
    from xueji_site.imports import importing
    from xueji_site.scripts.importer import Committer, script_request
    from xueji_site.kernel.root import get_site
    tm = transaction.TransactionManager(explicit=True)
    conn = database(app.registry).open(transaction_manager=tm)
    manager.push({"registry": app.registry, "request": None})
    tm.begin()
    try:
        site = get_site(conn)
        school = site["110000"][COUNTY][SCHOOL]
        table = spreadsheets.open_table(data, spreadsheets.Limits(max_bytes=500 * 2**20, max_rows=10**6))
        checker = importing.RowChecker(script_request(app.registry, site, school), school)
        summary = importing.process(checker, table, create=True, registry=app.registry,
                                    after_row=Committer(tm, conn, batch))
        audit.log(None, "import", school, site=site, **summary.as_detail())
        tm.commit()
        return summary
    finally:
        manager.pop()
        conn.close()


# -- the raw insert ---------------------------------------------------------------------------

def raw_insert(directory, rows, batch):
    import transaction
    import ZODB
    import ZODB.FileStorage
    from BTrees.OOBTree import OOBTree
    from xueji_site.record.models import Student
    fields = {"姓名": "name", "性别": "gender", "出生日期": "birth_date", "民族": "ethnicity",
              "证件类型": "id_type", "证件号码": "id_number", "出生地": "birthplace"}
    db = ZODB.DB(ZODB.FileStorage.FileStorage(os.path.join(directory, "Raw.fs")))
    conn = db.open()
    tree = conn.root()["students"] = OOBTree()
    year = cohort()
    started = time.perf_counter()
    for i in range(rows):
        student = Student()
        for title, value in record(i, year).items():
            setattr(student, fields.get(title, "f%d" % (hash(title) % 1000)), value)
        tree["s%08d" % i] = student
        if (i + 1) % batch == 0:
            transaction.commit()
            conn.cacheGC()
    transaction.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    db.close()
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="print the import's top cProfile entries")
    parser.add_argument("--generate", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        return generate(args.generate, args.rows)
    from xueji_site.kernel import crypto
    with tempfile.TemporaryDirectory(prefix="xueji-bench-") as directory:
        path = os.path.join(directory, "pupils.xlsx")
        subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--generate", path], check=True)
        with open(path, "rb") as src:
            data = src.read()
        key_file = crypto.create_key_file(os.path.join(directory, "xueji.key"))
        app = make_app(directory, key_file)
        build_school(app)
        profile = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profile:
            profile.enable()
        summary = run_import(app, data, args.batch)
        if profile:
            profile.disable()
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size_mb = os.path.getsize(os.path.join(directory, "Data.fs")) / 2**20
        for db in databases(app.registry).values():
            db.close()
        raw = raw_insert(directory, args.rows, args.batch)
        print("xlsx: %d rows, %.1f MB" % (args.rows, len(data) / 2**20))
        print("import (importing.py): created %d, errors %d in %.1f s = %.0f rows/s; peak RSS %.0f MB; "
              "Data.fs %.0f MB" % (summary.created, summary.errors, elapsed, summary.created / elapsed,
                                    peak_mb, size_mb))
        print("raw ZODB insert (Student objects into an OOBTree): %.1f s = %.0f rows/s" % (raw, args.rows / raw))
        print("ratio raw/import: %.1f×" % ((args.rows / raw) / (summary.created / elapsed)))
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
