"""Released data is gone from RelStorage too (security.md F1): the scenario of
tests/test_release.py on PostgreSQL, read back from ``object_state``.

Production (production.ini) and these tests run RelStorage history-free
(``keep_history=false``): a changed object's row is overwritten in place, so
only the objects that became unreachable (the deleted pupil, the removed
account) still hold released values before the pack — and the pack's garbage
collection deletes their rows — besides the expired verification code that
xueji-pack removes first. (PostgreSQL keeps deleted row versions in its
files until VACUUM reuses the space; that is below what SQL can read.)
"""
import pytest

from ..test_release import HELD_UNTIL_PACK, found_in, populate, release, run_pack, write_ini
from .conftest import _read_object_state
from .test_storages import running_app

pytestmark = pytest.mark.storage


def test_released_data_leaves_object_state_at_the_pack(pg_server, key_file, tmp_path):
    dbname = pg_server.create_database()
    try:
        uri = pg_server.uri(dbname)
        assert "keep_history=false" in uri
        with running_app(key_file, uri) as app:
            pupil_path, released = populate(app)
            release(app, pupil_path)
        object_state = _read_object_state(pg_server, dbname)

        before = object_state()
        assert found_in(before, released, HELD_UNTIL_PACK) == sorted(HELD_UNTIL_PACK)
        packed = run_pack(write_ini(tmp_path, key_file, uri))
        assert packed.returncode == 0, packed.stdout + packed.stderr
        assert "released: 0 detached places" in packed.stdout  # the delete already left the places
        assert found_in(object_state(), released) == []

        with running_app(key_file, uri) as app:  # the site is whole after the pack
            from ..conftest import open_site, resolve
            with open_site(app) as site:
                klass = resolve(site, "/110000/110105/2111000001/2024-03")
                assert [p.id_number for p in klass.values()] == ["110105201703120038"]
                assert site.principals.by_login_name("leaver") is None
    finally:
        pg_server.drop_database(dbname)
