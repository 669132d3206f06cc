"""The TOTP enrolment page shows the otpauth:// URI as a QR code drawn on the server
(inline SVG, no image service), with the secret as text beside it."""
import re

import segno

from .conftest import Browser, add_user, open_site


def _modules(svg):
    """The dark modules of a segno SVG: the path's drawing commands."""
    return re.search(r'<path[^>]* d="([^"]+)"', svg).group(1)


def test_enrolment_page_shows_a_qr_code_of_the_otpauth_uri(app):
    with open_site(app) as site:
        add_user(site, "rita", "sysadmin").clear_second_factor()
    browser = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    browser.login("rita")
    page = browser.get("/totp-enrol")
    secret = page.html.find(id="totp-secret").text
    uri = page.html.find(id="totp-uri").text
    assert uri.startswith("otpauth://totp/") and "secret=" + secret in uri  # the text stays
    svg = page.html.find("svg", id="totp-qr")
    assert svg is not None and svg.find("title").text == "两步验证配置二维码"
    shown = _modules(str(svg))
    assert shown == _modules(segno.make(uri, error="m", micro=False).svg_inline(scale=4))  # that URI ...
    other = uri.replace(secret, "A" * len(secret))
    assert shown != _modules(segno.make(other, error="m", micro=False).svg_inline(scale=4))  # ... and no other
    assert "<img" not in str(page.html.find("figure", class_="totp-qr"))  # drawn inline, fetched from nowhere
    assert "no-store" in page.headers["Cache-Control"]
