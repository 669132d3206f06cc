"""bin/demo prints the address the ini file's [server:main] really uses (issue 12, 8)."""
import subprocess
import sys
from pathlib import Path

import pytest

from xueji_site.scripts import serverinfo

REPO = Path(__file__).resolve().parents[1]


def _ini(tmp_path, server):
    path = tmp_path / "site.ini"
    path.write_text("[app:main]\nuse = egg:xueji\n\n[server:main]\nuse = egg:waitress#main\n" + server,
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("server, expected", [
    ("listen = 127.0.0.1:6543\n", ["http://127.0.0.1:6543"]),
    ("listen = 127.0.0.1:8099\nthreads = 4\n", ["http://127.0.0.1:8099"]),
    ("listen = *:7000\n", ["http://127.0.0.1:7000  (listening on all interfaces: *)"]),
    ("listen = 10.1.2.3:80 [::1]:8081\n", ["http://10.1.2.3:80", "http://[::1]:8081"]),
    ("host = 192.168.0.9\nport = 9000\n", ["http://192.168.0.9:9000"]),
    ("threads = 2\n", ["http://127.0.0.1:8080  (listening on all interfaces: 0.0.0.0)"]),  # waitress defaults
])
def test_the_address_comes_from_server_main(tmp_path, server, expected):
    assert serverinfo.describe(str(_ini(tmp_path, server))) == expected


def test_the_shipped_ini_files_and_the_command_line(tmp_path):
    assert serverinfo.listen_addresses(str(REPO / "development.ini")) == [("127.0.0.1", 6543)]
    moved = _ini(tmp_path, "listen = 127.0.0.1:6601\n")
    run = subprocess.run([sys.executable, "-m", "xueji_site.scripts.serverinfo", str(moved)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "http://127.0.0.1:6601"
    missing = subprocess.run([sys.executable, "-m", "xueji_site.scripts.serverinfo", str(tmp_path / "no.ini")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 3 and "not found" in missing.stderr and "Traceback" not in missing.stderr
    broken = _ini(tmp_path, "listen = 127.0.0.1:http\n")
    bad = subprocess.run([sys.executable, "-m", "xueji_site.scripts.serverinfo", str(broken)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 3 and "Traceback" not in bad.stderr


def test_bin_demo_prints_what_serverinfo_reads():
    script = (REPO / "bin" / "demo").read_text(encoding="utf-8")
    assert "serving at http://127.0.0.1:6543" not in script
    assert "xueji_site.scripts.serverinfo development.ini" in script
