"""Pupil photos: re-encoded from pixels, capped, sealed, consent for under-14s."""
import io
import re

from PIL import Image
from pyramid.threadlocal import get_current_registry

from xueji_site.record import photos
from .conftest import Browser, add_user, build_tree, open_site, resolve


def _jpeg_with_exif(size=(1200, 1600)):
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x010E] = "GPS 39.9N 116.4E"  # ImageDescription: where it was taken
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _png(size):
    out = io.BytesIO()
    Image.new("L", size, 0).save(out, "PNG", optimize=True)
    return out.getvalue()


def test_prepare_reencodes_and_strips_metadata():
    original = _jpeg_with_exif()
    assert b"SecretCam" in original
    stored = photos.prepare(original)
    assert stored[:2] == b"\xff\xd8" and b"SecretCam" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (600, 800)
    assert photos.prepare(_png((300, 400)))[:2] == b"\xff\xd8"


def test_prepare_refuses_disguised_oversize_and_bombs():
    import pytest
    for data, reason in ((b"<html><script>alert(1)</script></html>", "not-an-image"),
                         (b"GIF89a" + b"\x00" * 100, "not-an-image"),
                         (b"\xff\xd8" + b"x" * (photos.MAX_BYTES + 10), "too-large"),
                         (_png((6000, 6000)), "too-many-pixels")):
        with pytest.raises(photos.PhotoError) as caught:
            photos.prepare(data)
        assert caught.value.args[0] == reason


def _setup(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        add_user(site, "reg", "school_registrar", at=nodes["school_a"])
        add_user(site, "t", "teacher", at=nodes["class_a"])
        return "/110000/110105/2111000001/2024-03/" + nodes["pupil_a"].__name__ + "/"


def _upload(client, url, data, name="photo.jpg", consent=True, status=303):
    page = client.get(url + "photo-upload")
    form = page.forms["photo-form"]
    form["photo"] = (name, data)
    if consent and "consent" in form.fields:
        form["consent"] = True
    return form.submit("upload", status=status)


def test_upload_show_and_permissions(app):
    url = _setup(app)
    reg = Browser(app)
    reg.login("reg")
    refused = _upload(reg, url, _jpeg_with_exif(), consent=False, status=200)
    assert "须确认已取得监护人同意" in refused.text  # the pupil is under 14
    bad = _upload(reg, url, b"<html>not a photo</html>", name="x.jpg", status=200)
    assert "只接受 JPEG 或 PNG 照片" in bad.text
    _upload(reg, url, _jpeg_with_exif())
    shown = reg.get(url + "photo")
    assert shown.content_type == "image/jpeg" and shown.body[:2] == b"\xff\xd8"
    assert shown.headers["X-Content-Type-Options"] == "nosniff" and "no-store" in shown.headers["Cache-Control"]
    assert b"SecretCam" not in shown.body
    assert 'src="http://localhost%sphoto"' % url in reg.get(url).text
    teacher = Browser(app)
    teacher.login("t")
    teacher.get(url + "photo", status=403)
    with open_site(app) as site:
        pupil = resolve(site, url)
        assert pupil.has_photo and pupil.photo_consent[1] == "reg"
        assert b"\xff\xd8" not in pupil._sealed_photo[:20]  # sealed, not a JPEG at rest
        assert [e.action for e in site.audit.newest(lambda e: e.action.startswith("photo"))] == [
            "photo-upload", "photo-upload"]
        assert site.audit.newest(lambda e: e.action == "photo-upload")[1].result == "failed"
    page = reg.get(url + "photo-upload")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    reg.post(url + "photo-upload", {"csrf_token": token, "remove": "1"}, status=303)
    reg.get(url + "photo", status=404)
