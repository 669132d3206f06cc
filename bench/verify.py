"""Verification throughput against two baselines, plus the archive script's rate.

    .venv/bin/python bench/verify.py [--graduates 1000000] [--archive 20000] [--seconds 10] [--warmup 10] [--gc-freeze]

1. Builds a FileStorage with N archived graduates directly, in bulk: the
   site from ``site.make_site``, then per school an Archive with year
   containers of ``ArchivedGraduate`` records and, for each, the
   verification index entry (``verification.register``); committed every
   50,000 records with the cache trimmed. No catalog, no events: the
   records and index are what the archive script leaves behind, built
   without the per-pupil work of graduating and moving.
2. Serves the real app (``xueji_site.configure`` + two baseline views) with
   waitress, 16 threads, in this process; loads it with wrk from a separate
   process on loopback, 16 connections for S seconds, each request a random
   certificate (a Lua script picks from 10,000 URLs):
     bare      a Pyramid view returning a constant
     lookup    opens the ZODB connection, one OOBTree look-up
     verify    /verify.json: rate limit (the default 100/minute per address),
               keyed hashes, index look-up, one audit entry per request
               (lookup_audit: batched by a writer thread, in the same process).
   Every request carries an X-Forwarded-For address drawn from ~260,000
   (waitress trusts it from 127.0.0.1, as behind the production proxy), so
   the limiter keeps state for many clients and none reaches its limit;
   the same header goes to all three views.
   Conflicts retried by pyramid_retry are counted. With --gc-freeze the
   objects loaded while warming up (ZODB caches of 16 connections) are
   frozen out of the cyclic GC, whose full collections otherwise pause every
   thread for 100+ ms and make the p99 (all three views alike).
3. Runs ``xueji-archive`` on a separate FileStorage holding M graduated
   pupils (made through the app: catalog, events) and reports graduates/s
   and the peak RSS of that process.
"""
import argparse
import gc
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import transaction
import ZODB
import ZODB.FileStorage
from xueji_site.kernel.root import databases

HERE = Path(__file__).resolve().parent
SCHOOLS = 500


def settings_for(directory, key_file):
    uri = "file://%s/Data.fs?connection_pool_size=24&connection_cache_size=200000" % directory
    return {"zodbconn.uri": uri, "xueji.key_file": key_file, "xueji.session_secret": "bench-" + "x" * 40,
            "xueji.secure_cookies": "false", "retry.attempts": "5",  # verify_rate: the default 100/minute
            "xueji.lookup_audit_interval": os.environ.get("BENCH_AUDIT_INTERVAL", "1.0")}


def build(directory, key_file, count, batch=50000):
    """Archived graduates and their index entries, in bulk; returns sample (number, name) pairs."""
    from xueji_site.graduates import archive, certificates, verification
    from xueji_site.kernel import crypto
    from xueji_site.status import changes as workflow
    from xueji_site.kernel.root import ROOT_KEY, make_site
    from xueji_site.tree.nodes import Bureau, School
    crypto.install(crypto.load_key_file(key_file))
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(directory / "Data.fs")), cache_size=50000)
    conn = db.open()
    root = conn.root()
    site = root[ROOT_KEY] = make_site()
    verification.install(site)
    bureau = Bureau("330106", "西湖区教育局")
    site.data["330106"] = bureau
    bureau.__parent__, bureau.__name__ = site, "330106"
    years, schools, samples = {}, [], []
    for s in range(SCHOOLS):
        school = School("21330%05d" % s, "第%d小学" % s)
        bureau.data[school.code] = school
        school.__parent__, school.__name__ = bureau, school.code
        arch = archive.Archive()
        arch.__parent__, arch.__name__ = school, "archive"
        school.graduate_archive = arch
        arch.acl = tuple(__import__("xueji_site.kernel.security", fromlist=["x"]).type_acl("Archive"))
        years[s] = archive.year_of(arch, 2024, create=True)
        schools.append(school)
    started = time.time()
    for i in range(count):
        s = i % SCHOOLS
        school = schools[s]
        number = certificates.make(school.code, 2024, workflow.GRADUATED, i // SCHOOLS + 1)
        name = "张%d" % i
        record = archive.ArchivedGraduate()
        record.name, record.outcome, record.year, record.cohort = name, workflow.GRADUATED, 2024, 2018
        record._sealed_certificate = crypto.keyring().seal("certificate", number)
        years[s].data["g%07d" % i] = record
        record.__parent__, record.__name__ = years[s], "g%07d" % i
        verification.register(site, number, name, school.title, 2024, workflow.GRADUATED)
        if i % 997 == 0 and len(samples) < 10000:
            samples.append((number, name))
        if (i + 1) % batch == 0:
            transaction.commit()
            conn.cacheGC()
            print("  built %d (%.0f/s)" % (i + 1, (i + 1) / (time.time() - started)), file=sys.stderr)
    for year in years.values():
        year._num.set(len(year.data))
    transaction.commit()
    elapsed = time.time() - started
    db.close()
    while len(samples) < 1000:
        samples = samples * 2
    return samples, elapsed


def make_app(directory, key_file):
    from pyramid.security import NO_PERMISSION_REQUIRED
    from pyramid.response import Response
    from pyramid_retry import IBeforeRetry
    from pyramid_zodbconn import get_connection
    from xueji_site import configure
    from xueji_site.kernel import crypto
    from xueji_site.kernel.root import ROOT_KEY
    keys = []
    retries = [0]

    def bare(request):
        return Response(b"ok", content_type="text/plain")

    def lookup(request):
        site = get_connection(request).root()[ROOT_KEY]
        found = site.certificates.get(random.choice(keys))
        return Response(b"1" if found else b"0", content_type="text/plain")

    config = configure(settings_for(directory, key_file))
    config.add_view(bare, name="bare", permission=NO_PERMISSION_REQUIRED, require_csrf=False)
    config.add_view(lookup, name="lookup", permission=NO_PERMISSION_REQUIRED, require_csrf=False)
    config.add_subscriber(lambda event: retries.__setitem__(0, retries[0] + 1), IBeforeRetry)
    app = config.make_wsgi_app()
    return app, keys, retries


def serve(app, port):
    from waitress.server import create_server
    server = create_server(app, host="127.0.0.1", port=port, threads=16, connection_limit=200,
                           channel_timeout=60, trusted_proxy="127.0.0.1", trusted_proxy_count=1,
                           trusted_proxy_headers={"x-forwarded-for"}, clear_untrusted_proxy_headers=True)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server


LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function()
  local address = string.format("10.%%d.%%d.%%d", math.random(0, 3), math.random(0, 255), math.random(1, 254))
  return wrk.format("GET", paths[math.random(#paths)], {["X-Forwarded-For"] = address})
end
"""


def load(port, paths, seconds, workdir, name):
    """wrk -t2 -c16 -d S --latency with random paths; (requests/s, p50 ms, p99 ms, non-2xx)."""
    listing = workdir / ("%s.paths" % name)
    listing.write_text("\n".join(paths) + "\n")
    script = workdir / ("%s.lua" % name)
    script.write_text(LUA % listing)
    out = subprocess.run(["wrk", "-t2", "-c16", "-d%ds" % seconds, "--latency", "-s", str(script),
                          "http://127.0.0.1:%d/" % port], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p99 = (_ms(re.search(r"\s%s%%\s+([\d.]+\w+)" % q, out).group(1)) for q in ("50", "99"))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(errors.group(1)) if errors else 0


def _ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def bench_archive(count, key_file, workdir):
    """M graduated pupils made through the app, then xueji-archive as its own process."""
    import configparser
    from pyramid.threadlocal import get_current_registry
    from stdnum.cn import ric
    from xueji_site import main
    from xueji_site.kernel import content
    from xueji_site.graduates import graduation
    from tests.conftest import open_site, student_values
    directory = workdir / "archive"
    directory.mkdir()
    settings = settings_for(directory, key_file)
    app = main({}, **settings)
    per_school = 1000
    with open_site(app) as site:
        registry = get_current_registry()
        bureau = content.create("Bureau", site, {"code": "330106", "name": "西湖区"}, registry)
    for s in range(max(1, count // per_school)):
        with open_site(app) as site:
            registry = get_current_registry()
            school = content.create("School", site["330106"], {"code": "21330%05d" % s, "name": "小学%d" % s,
                                                               "address": "", "phone": ""}, registry)
            klass = content.create("SchoolClass", school, {"cohort": 2019, "number": 1, "name": ""}, registry)
            for i in range(per_school):
                body = "33010620120101%03d" % (i % 1000)
                content.create("Student", klass, student_values(body + ric.calc_check_digit(body + "0"),
                                                                "学生%d" % i, "1"), registry)
            graduation.graduate(school, 2019)
    for db in databases(app.registry).values():
        db.close()
    ini = configparser.ConfigParser(interpolation=None)
    ini["app:main"] = dict(settings, use="egg:xueji")
    with open(directory / "bench.ini", "w") as out:
        ini.write(out)
    exe = Path(sys.executable).parent / "xueji-archive"
    started = time.time()
    done = subprocess.run(["/usr/bin/time", "-v", str(exe), str(directory / "bench.ini"), "--year",
                           str(time.localtime().tm_year), "--batch", "1000"], capture_output=True, text=True)
    elapsed = time.time() - started
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    archived = int(re.search(r"archived / 已归档 (\d+)", done.stdout).group(1))
    return archived, elapsed, rss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graduates", type=int, default=1000000)
    parser.add_argument("--archive", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--port", type=int, default=6590)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of load per view before measuring")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="after warming up, gc.freeze() what is loaded (as a server would after start-up)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from xueji_site.kernel import crypto
    workdir = Path(tempfile.mkdtemp(prefix="xueji-bench-verify-"))
    try:
        key_file = crypto.create_key_file(str(workdir / "xueji.key"))
        started = time.time()
        samples, built = build(workdir, key_file, args.graduates)
        os.sync()  # else the first commits while serving (audit entries) fsync gigabytes of the build
        size = (workdir / "Data.fs").stat().st_size / 2 ** 20
        print("built %d archived graduates + index in %.0f s (%.0f/s), Data.fs %.0f MB"
              % (args.graduates, built, args.graduates / built, size))
        app, keys, retries = make_app(workdir, key_file)
        keys.extend(crypto.keyring().blind("certificate", n) for n, _name in samples)
        server = serve(app, args.port)
        from urllib.parse import quote
        paths = {"bare": ["/bare"] * 10,
                 "lookup": ["/lookup"] * 10,
                 "verify": ["/verify.json?number=%s&name=%s" % (n, quote(name)) for n, name in samples]}
        results = {}
        for name in ("bare", "lookup", "verify"):
            load(args.port, paths[name], args.warmup, workdir, name + "-warm")  # warm the caches
        if args.gc_freeze:
            gc.collect()
            gc.freeze()  # what is loaded now is never scanned again by the cyclic GC
        for name in ("bare", "lookup", "verify"):
            before = retries[0]
            results[name] = load(args.port, paths[name], args.seconds, workdir, name) + (retries[0] - before,)
        # the server thread is a daemon: it ends with this process
        print("%-8s %10s %9s %9s %8s %8s" % ("view", "req/s", "p50 ms", "p99 ms", "non-2xx", "retries"))
        for name, (rps, p50, p99, errors, retried) in results.items():
            print("%-8s %10.0f %9.2f %9.2f %8d %8d" % (name, rps, p50, p99, errors, retried))
        v, l, b = results["verify"][0], results["lookup"][0], results["bare"][0]
        print("verify / lookup = %.2f   verify / bare = %.2f   lookup / bare = %.2f" % (v / l, v / b, l / b))
        if args.archive:
            archived, elapsed, rss = bench_archive(args.archive, key_file, workdir)
            print("xueji-archive: %d graduates in %.1f s = %.0f graduates/s, peak RSS %.0f MB"
                  % (archived, elapsed, archived / elapsed, rss))
        print("total %.0f s" % (time.time() - started))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
