"""Benchmark: the enrolment report (level × grade × gender) and search on N pupils
in a FileStorage, against the same GROUP BY in a throwaway PostgreSQL 15.

    .venv/bin/python bench/stats.py [--students 1000000] [--keep DIR]

How the data is made quickly: the tree (1 province, 10 cities, 100 counties,
schools, classes) and the pupils are real persistent objects, but pupils are
added to their classes without events, and the catalog's index structures are
filled in bulk: every posting is built as a sorted list and stored as one
TreeSet, instead of one ``index_doc`` per pupil. Left out for pupils, because
no timed query reads them: the ``path``/``name``/``modified``/``code``/``hashes``
indexes, each pupil's own path in ``ancestors``, and the keyword indexes'
reverse maps. The timed code is the application's own (``reports.run`` and
``search.search``) on a freshly opened database (first run: cold cache).

PostgreSQL: initdb/pg_ctl from /usr/lib/postgresql/15/bin, run as the postgres
user when we are root, on a free loopback port; the table holds the same rows.
"""
import argparse
import csv
import os
import pwd
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import BTrees
import transaction
import ZODB
import ZODB.FileStorage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from xueji_site.kernel import catalog as cat, crypto  # noqa: E402
from xueji_site.standards import codes
from xueji_site.search import indexes as search_indexes, reports, query as search
from xueji_site.tree.nodes import Bureau, School, SchoolClass, school_year  # noqa: E402
from xueji_site.record.models import Student
from xueji_site.scripts.demo import _ETHNICITIES, chinese_name  # noqa: E402
from xueji_site.kernel.root import ROOT_KEY, make_site  # noqa: E402

PG_BIN = os.environ.get("XUEJI_PG_BIN", "/usr/lib/postgresql/15/bin")
SETS = BTrees.family64.IF
CATEGORIES = ("21", "31", "34", "21", "21", "31")
PER_SCHOOL = 1000
CLASS_SIZE = 45


# -- the data ---------------------------------------------------------------------

class Bulk:
    """Postings collected as lists, written once into the indexes."""

    def __init__(self):
        self.field = {}    # index → value → [docids]
        self.rev = {}      # index → {docid: value}
        self.keyword = {}  # index → word → [docids]

    def put(self, index, docid, value):
        self.field.setdefault(index, {}).setdefault(value, []).append(docid)
        self.rev.setdefault(index, {})[docid] = value

    def words(self, index, docid, words):
        target = self.keyword.setdefault(index, {})
        for word in words:
            target.setdefault(word, []).append(docid)

    def write(self, catalog):
        for name, postings in self.field.items():
            index = catalog[name]
            for value, docids in postings.items():
                index._fwd_index[value] = SETS.TreeSet(docids)
            index._rev_index.update(self.rev[name])
            index._num_docs.set(len(self.rev[name]))
        for name, postings in self.keyword.items():
            index = catalog[name]
            for word, docids in postings.items():
                index._fwd_index[word] = SETS.TreeSet(sorted(set(docids)))


def _node(parent, name, obj, bulk, site, docid):
    obj.__parent__, obj.__name__, obj.docid = parent, name, docid
    parent.data[name] = obj
    parent._num.change(1)
    site.docmap[docid] = obj
    bulk.put("content_type", docid, obj.content_type)
    bulk.put("title", docid, obj.sort_title if isinstance(obj.sort_title, str) else name)
    path = cat.disc_ancestors(obj, None)
    bulk.words("ancestors", docid, path if obj.content_type != "Student" else path[:-1])
    return obj


def build(site, students, rng, progress):
    bulk, docid, year = Bulk(), 1 << 40, school_year()
    province = _node(site, "330000", Bureau("330000", "浙江省教育厅"), bulk, site, docid)
    tokens, rows, made = {}, [], 0
    schools = -(-students // PER_SCHOOL)
    for s in range(schools):
        city_code = "33%02d00" % (s % 10 + 1)
        county_code = city_code[:4] + "%02d" % (s // 10 % 10 + 1)
        city = province.get(city_code) or _node(province, city_code, Bureau(city_code, city_code), bulk, site,
                                                docid := docid + 1)
        county = city.get(county_code) or _node(city, county_code, Bureau(county_code, county_code), bulk,
                                                site, docid := docid + 1)
        category = CATEGORIES[s % len(CATEGORIES)]
        code = "%s33%06d" % (category, s)
        school = _node(county, code, School(code, "学校%d" % s), bulk, site, docid := docid + 1)
        first, grades = codes.LEVEL_GRADES[school.level]
        size = min(PER_SCHOOL, students - made)
        classes = []
        for c in range(-(-size // CLASS_SIZE)):
            cohort, number = year - c % grades, c // grades + 1
            key = SchoolClass.key_for(cohort, number)
            classes.append(_node(school, key, SchoolClass(cohort, number), bulk, site, docid := docid + 1))
        for p in range(size):
            docid += 1
            klass = classes[p % len(classes)]
            pupil = _pupil(rng, "s%08d" % made, klass, docid, bulk, site, tokens)
            rows.append((school.level, klass.cohort, pupil.gender, pupil.status, county_code))
            made += 1
        progress(size)
    bulk.write(site.catalog)
    return rows


def _pupil(rng, key, klass, docid, bulk, site, tokens):
    pupil = Student.__new__(Student)  # a light pupil: the fields the indexes read
    gender = "1" if rng.random() < 0.52 else "2"
    pupil.name, pupil.gender = chinese_name(rng, gender), gender
    pupil.ethnicity = _ETHNICITIES.pick(rng)
    pupil.status = "enrolled" if rng.random() < 0.995 else "suspended"
    pupil.left_behind = rng.choice("0000000000012")
    pupil.migrant_child = rng.random() < 0.1
    pupil.orphan = rng.random() < 0.003
    pupil.disability = "1" if rng.random() < 0.01 else ""
    _node(klass, key, pupil, bulk, site, docid)
    for name in ("stage", "gender", "ethnicity", "status"):
        bulk.put(name, docid, getattr(cat, "disc_" + name)(pupil, None))
    bulk.words("flags", docid, search_indexes.student_flags(pupil))
    words = tokens.get(pupil.name)
    if words is None:
        words = tokens[pupil.name] = search.name_tokens(pupil.name)
    bulk.words("text", docid, words)
    return pupil


def make_database(path, students, seed):
    db = ZODB.DB(ZODB.FileStorage.FileStorage(path), cache_size=50_000)
    conn = db.open()
    site = conn.root()[ROOT_KEY] = make_site()
    started = time.perf_counter()
    done = [0]

    def progress(n):
        done[0] += n
        if done[0] % 100_000 < n:
            print("  %d pupils, %.0f s" % (done[0], time.perf_counter() - started), file=sys.stderr)

    rows = build(site, students, random.Random(seed), progress)
    transaction.commit()
    conn.close()
    db.close()
    print("built %d pupils in %.1f s; Data.fs %.0f MB" % (
        students, time.perf_counter() - started, os.path.getsize(path) / 1e6))
    return rows


# -- timing ------------------------------------------------------------------------

def timed(function, repeat=5):
    """(first run, median of the next ``repeat``) in seconds, and the last result."""
    start = time.perf_counter()
    result = function()
    cold = time.perf_counter() - start
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        runs.append(time.perf_counter() - start)
    return cold, statistics.median(runs), result


def percentiles(samples):
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def zodb_figures(path, county, rng):
    db = ZODB.DB(ZODB.FileStorage.FileStorage(path, read_only=True), cache_size=2_000_000)
    conn = db.open()
    site = conn.root()[ROOT_KEY]
    node = site["330000"][county[:4] + "00"][county]
    whole = timed(lambda: reports.run("enrolment", site, cat.SYSTEM, site))
    one = timed(lambda: reports.run("enrolment", site, cat.SYSTEM, node))
    names = [chinese_name(rng, g) for g in "1212121212" * 5]
    keywords = [n[:2] for n in names[:25]] + [search.name_tokens(n)[0] for n in names[25:]]
    name_times = _search_times(site, [dict(keyword=k) for k in keywords])
    year = school_year()
    multi = [dict(keyword="", conditions={"gender": g, "grade": grade, "migrant": "1"},
                  path="/330000/%s00/%s" % (county[:4], county))
             for g in "12" for grade in range(1, 13)] * 2
    multi_times = _search_times(site, multi)
    conn.close()
    db.close()
    return whole, one, name_times, multi_times, year


def _search_times(site, queries):
    samples = []
    for q in queries:
        start = time.perf_counter()
        search.search(site, cat.SYSTEM, q.get("path", "/"), q["keyword"], q.get("conditions"), limit=50)
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


# -- PostgreSQL ----------------------------------------------------------------------

def _as_postgres(command, **kw):
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    return subprocess.run(command, check=True, capture_output=True, text=True, **kw)


def pg_figures(rows, workdir, county):
    import psycopg2
    data = os.path.join(workdir, "pg")
    os.makedirs(data)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
        os.chown(data, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    _as_postgres([PG_BIN + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
    _as_postgres([PG_BIN + "/pg_ctl", "-D", data, "-l", data + "/log", "-w", "-o",
                  "-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=''" % port, "start"])
    try:
        conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("CREATE TABLE students (level text, cohort int, gender text, status text, county text)")
        _copy(cur, rows, workdir)
        cur.execute("CREATE INDEX ON students (county)")
        cur.execute("VACUUM ANALYZE students")
        group = ("SELECT level, cohort, gender, count(*) FROM students WHERE status = 'enrolled' %s"
                 "GROUP BY level, cohort, gender")
        whole = timed(lambda: _fetch(cur, group % ""))
        one = timed(lambda: _fetch(cur, group % "AND county = %s " % _quote(county)))
        conn.close()
        return whole, one
    finally:
        _as_postgres([PG_BIN + "/pg_ctl", "-D", data, "-m", "fast", "stop"])


def _copy(cur, rows, workdir):
    path = os.path.join(workdir, "rows.csv")
    with open(path, "w", newline="") as out:
        csv.writer(out).writerows(rows)
    with open(path) as src:
        cur.copy_expert("COPY students FROM STDIN WITH (FORMAT csv)", src)


def _fetch(cur, sql):
    cur.execute(sql)
    return cur.fetchall()


def _quote(text):
    return "'%s'" % text.replace("'", "''")


def _free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- main ------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="work here and keep the files")
    args = parser.parse_args(argv)
    workdir = args.keep or tempfile.mkdtemp(prefix="xueji-bench-")
    os.makedirs(workdir, exist_ok=True)
    crypto.install(crypto.load_key_file(str(crypto.create_key_file(os.path.join(workdir, "bench.key")))))
    try:
        path = os.path.join(workdir, "Data.fs")
        rows = make_database(path, args.students, args.seed)
        county = "330101"
        in_county = sum(1 for r in rows if r[4] == county)
        whole, one, name_q, multi_q, _year = zodb_figures(path, county, random.Random(args.seed + 1))
        pg_whole, pg_one = pg_figures(rows, workdir, county)
        _report(args.students, in_county, whole, one, name_q, multi_q, pg_whole, pg_one)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _report(students, in_county, whole, one, name_q, multi_q, pg_whole, pg_one):
    total = whole[2].totals()[-1]
    pg_total = sum(r[3] for r in pg_whole[2])
    print("enrolled pupils counted: catalog %d, PostgreSQL %d" % (total, pg_total))
    print("%-38s %10s %10s %10s %8s" % ("enrolment report (level×grade×gender)", "cold s", "warm s", "PG warm s",
                                        "ratio"))
    for label, ours, theirs in (("whole tree (%d pupils)" % students, whole, pg_whole),
                                ("one county (%d pupils)" % in_county, one, pg_one)):
        print("%-38s %10.3f %10.3f %10.3f %8.2f" % (label, ours[0], ours[1], theirs[1], ours[1] / theirs[1]))
    print("search, name keyword (50 queries):        p50 %.3f s  p95 %.3f s" % name_q)
    print("search, gender+grade+migrant in a county: p50 %.3f s  p95 %.3f s" % multi_q)


if __name__ == "__main__":
    main()
