"""Public verification: minimal masked answers, identical refusals, rate limit, audit, holders' codes."""
import re
import time

import pytest
import webtest
from pyramid.threadlocal import get_current_registry
from pyramid.traversal import resource_path

from xueji_site.graduates import graduation, verification
from .conftest import Browser, add_user, build_tree, open_site, resolve
from xueji_site.kernel.root import databases


@pytest.fixture
def settings(key_file):
    from .conftest import base_settings
    return dict(base_settings(key_file), **{"xueji.verify_rate": "8/minute", "xueji.lookup_audit_interval": "0"})


@pytest.fixture
def graduate(app):
    """李明 (pupil_a) graduated; his guardian has an account."""
    with open_site(app) as site:
        n = build_tree(site, get_current_registry())
        [(pupil, number)] = graduation.graduate(n["school_a"], 2024)
        add_user(site, "guard", "guardian", at=pupil)
        return {"number": number, "pupil": resource_path(pupil), "id": pupil.id_number,
                "born": pupil.birth_date.isoformat()}


def _anon(app, address):
    return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": address, "HTTP_ACCEPT_LANGUAGE": "zh-CN"})


def test_valid_answer_is_minimal_and_masked(app, graduate):
    client = _anon(app, "10.0.0.1")
    answer = client.get("/verify.json", {"number": graduate["number"], "name": "李明"}).json
    assert answer["valid"] is True and answer["name"] == "李*" and answer["school"] == "朝阳实验小学"
    assert answer["outcome"] == "graduated" and answer["certificate"] == graduate["number"]
    body = client.get("/verify.json", {"number": graduate["number"], "name": "李明"}).text
    assert "李明" not in body and graduate["id"] not in body and graduate["born"] not in body
    assert graduate["born"].replace("-", "") not in body


def test_wrong_name_and_unknown_number_are_byte_identical(app, graduate):
    client = _anon(app, "10.0.0.2")
    number = graduate["number"]
    other = number[:15] + "99999"
    other += __import__("stdnum.iso7064.mod_11_2", fromlist=["x"]).calc_check_digit(other)
    wrong_name = client.get("/verify.json", {"number": number, "name": "李亮"})
    unknown = client.get("/verify.json", {"number": other, "name": "李明"})
    malformed = client.get("/verify.json", {"number": "123", "name": "李明"})
    assert wrong_name.body == unknown.body == malformed.body == b'{"valid": false}'
    assert wrong_name.headers["Content-Type"] == unknown.headers["Content-Type"]
    page = client.get("/verify")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    html_wrong = client.post("/verify", {"csrf_token": token, "number": number, "name": "李亮"})
    html_unknown = client.post("/verify", {"csrf_token": token, "number": other, "name": "李明"})
    assert html_wrong.body == html_unknown.body and "未找到相符的证书" in html_wrong.text
    right = client.post("/verify", {"csrf_token": token, "number": number, "name": "李明"})
    assert "查验结果：有效" in right.text and "李*" in right.text
    client.post("/verify", {"number": number, "name": "李明"}, status=400)  # no CSRF token: refused


def test_rate_limited_per_address_with_retry_after_and_audited(app, graduate):
    client = _anon(app, "10.0.0.3")
    for _ in range(8):
        client.get("/verify.json", {"number": graduate["number"], "name": "王五"}, status=200)
    refused = client.get("/verify.json", {"number": graduate["number"], "name": "李明"}, status=429)
    assert int(refused.headers["Retry-After"]) >= 1 and refused.json["error"] == "rate-limited"
    _anon(app, "10.0.0.4").get("/verify.json", {"number": graduate["number"], "name": "李明"}, status=200)
    with open_site(app) as site:
        entries = [e for e in site.audit.newest(limit=100) if e.action == "verify"]
        assert len(entries) == 10
        assert sorted({e.result for e in entries}) == ["denied", "failed", "ok"]
        assert {e.address for e in entries} == {"10.0.0.3", "10.0.0.4"}
        assert all(graduate["number"] not in str(e.detail) for e in entries)  # the number is masked


def test_guardian_issues_a_code_with_qr_and_report(app, graduate):
    guardian = Browser(app)
    guardian.login("guard")
    page = guardian.get(graduate["pupil"] + "/graduate")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    guardian.post(graduate["pupil"] + "/codes", {"csrf_token": token, "days": "10"}, status=404)
    report = guardian.post(graduate["pupil"] + "/codes", {"csrf_token": token, "days": "90"})
    code = re.search(r'id="code">([A-Z0-9-]+)<', report.text).group(1)
    assert 'src="data:image/svg+xml' in report.text
    link = re.search(r'id="verify-link" href="([^"]+)"', report.text).group(1).replace("&amp;", "&")
    opened = _anon(app, "10.0.0.5").get(link[link.index("/verify"):])
    assert "查验结果：有效" in opened.text
    answer = _anon(app, "10.0.0.6").get("/verify.json", {"number": graduate["number"], "code": code}).json
    assert answer["valid"] and answer["name"] == "李*"
    with open_site(app) as site:
        later = time.time() + 91 * 86400
        assert not verification.look_up(site, graduate["number"], code=code, now=later)["valid"]
        assert not verification.look_up(site, graduate["number"], code=("A" if code[0] != "A" else "B") + code[1:])["valid"]
        assert resolve(site, graduate["pupil"]).status == "graduated"
        assert len(site.verification_codes) == 1  # the refused 10-day request stored nothing


def test_lookup_audit_writer_thread_batches_entries(app, graduate):
    """The production path: entries queued, written by the writer thread, which then ends."""
    from xueji_site.kernel.lookup_audit import buffer_for
    entries = buffer_for(app.registry)
    entries.interval = 0.05
    client = _anon(app, "10.0.0.7")
    for name in ("李明", "李亮", "李明"):
        client.get("/verify.json", {"number": graduate["number"], "name": name})
    deadline = time.time() + 5
    while (entries.pending or entries.thread.is_alive()) and time.time() < deadline:
        time.sleep(0.02)
    assert not entries.thread.is_alive()
    with open_site(app) as site:
        found = [e for e in site.audit.newest(limit=20) if e.action == "verify"]
        assert [e.result for e in reversed(found)] == ["ok", "failed", "ok"]
        assert all(float(dict(e.detail)["asked_at"]) <= e.when for e in found)


def test_address_limiter_slides():
    from xueji_site.kernel.ratelimit import AddressLimiter
    limiter = AddressLimiter(3, 60)
    assert [limiter.hit("a", now=600.0 + i) for i in range(4)][:3] == [0, 0, 0]
    assert limiter.hit("a", now=610.0) == 50 and limiter.hit("b", now=610.0) == 0
    assert limiter.hit("a", now=661.0) == 0   # new window: 3 × 59/60 of the last one still count
    assert limiter.hit("a", now=662.0) > 0    # 3 × 58/60 + 1 ≥ 3
    assert limiter.hit("a", now=700.0) == 0   # most of the last window has slid past


@pytest.fixture
def captcha_app(key_file):
    from xueji_site import main
    from .conftest import base_settings
    wsgi = main({}, **dict(base_settings(key_file), **{"xueji.verify_captcha_after": "3",
                                                      "xueji.lookup_audit_interval": "0"}))
    yield wsgi
    for db in databases(wsgi.registry).values():
        db.close()


def test_picture_challenge_after_a_few_look_ups_one_guess_each(captcha_app):
    from xueji_site.kernel import captchas
    with open_site(captcha_app) as site:
        n = build_tree(site, get_current_registry())
        [(_pupil, number)] = graduation.graduate(n["school_a"], 2024)
    client = _anon(captcha_app, "10.0.0.7")
    ask = {"number": number, "name": "李明"}
    for _ in range(3):
        assert client.get("/verify.json", ask).json["valid"] is True
    refused = client.get("/verify.json", ask, status=403).json
    assert refused["error"] == "captcha-required" and "valid" not in refused
    token = refused["captcha"]["token"]
    image = client.get(refused["captcha"]["image"])
    assert image.content_type == "image/png" and image.body[:8] == b"\x89PNG\r\n\x1a\n"
    answer = captchas.answer_of(token)
    assert answer not in token and len(answer) == captchas.LENGTH  # the token does not give it away
    solved = client.get("/verify.json", dict(ask, captcha_token=token, captcha_answer=answer.lower()))
    assert solved.json["valid"] is True
    client.get("/verify.json", dict(ask, captcha_token=token, captcha_answer=answer), status=403)  # used up
    fresh = client.get("/verify.json", ask, status=403).json["captcha"]["token"]
    client.get("/verify.json", dict(ask, captcha_token=fresh, captcha_answer="XXXXX"), status=403)  # wrong
    right = captchas.answer_of(fresh)
    client.get("/verify.json", dict(ask, captcha_token=fresh, captcha_answer=right), status=403)  # one guess only
    client.get("/verify-captcha.png", {"t": token[:-4] + "AAAA"}, status=404)  # forged token
    _anon(captcha_app, "10.0.0.8").get("/verify.json", ask, status=200)  # other addresses are not affected
    with open_site(captcha_app) as site:
        reasons = [dict(e.detail).get("reason") for e in site.audit.newest(limit=50) if e.action == "verify"]
        assert reasons.count("captcha") == 5


def test_picture_challenge_on_the_form(captcha_app):
    from xueji_site.kernel import captchas
    with open_site(captcha_app) as site:
        n = build_tree(site, get_current_registry())
        [(_pupil, number)] = graduation.graduate(n["school_a"], 2024)
    client = _anon(captcha_app, "10.0.0.9")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/verify").text).group(1)
    ask = {"csrf_token": token, "number": number, "name": "李明"}
    for _ in range(3):
        assert "查验结果：有效" in client.post("/verify", ask).text
    page = client.post("/verify", ask)
    assert "查验结果" not in page.text and "请输入图中的字符" in page.text
    challenge = page.html.find("input", attrs={"name": "captcha_token"})["value"]
    assert page.html.find("input", attrs={"name": "number"})["value"] == number  # typed values kept
    answered = client.post("/verify", dict(ask, captcha_token=challenge, captcha_answer=captchas.answer_of(challenge)))
    assert "查验结果：有效" in answered.text


def test_an_index_entry_changed_in_storage_is_not_confirmed(app, graduate):
    """D3: an entry edited without the key (a better school, another outcome) answers
    like a miss, and the look-up's audit entry says why."""
    from xueji_site.graduates import steps as graduate_steps
    client = _anon(app, "10.0.0.11")
    ask = {"number": graduate["number"], "name": "李明"}
    assert client.get("/verify.json", ask).json["valid"] is True
    with open_site(app) as site:
        [key] = [k for k in site.certificates.keys()]
        found = site.certificates[key]
        site.certificates[key] = found[:2] + ("清华附小",) + found[3:]
        assert verification.tampered_entries(site) == [key]
    forged = client.get("/verify.json", ask)
    assert forged.body == b'{"valid": false}'
    with open_site(app) as site:
        last = [e for e in site.audit.newest(limit=5) if e.action == "verify"][0]
        assert last.result == "failed" and dict(last.detail)["problem"] == "integrity"
        site.certificates[key] = found[:5]  # as written before entries had MACs
        assert verification.tampered_entries(site) == [key]
        graduate_steps.step_0006_certificate_entry_macs(site)  # the step stamps such entries
        assert verification.tampered_entries(site) == []
    assert client.get("/verify.json", ask).json["valid"] is True


def test_the_principal_revokes_a_certificate_issued_in_error(app, graduate):
    with open_site(app) as site:
        school = site["110000"]["110105"]["2111000001"]
        add_user(site, "head", "principal", at=school)
        add_user(site, "clerk", "school_registrar", at=school)
    ask = {"number": graduate["number"], "name": "李明"}
    public = _anon(app, "10.0.0.21")
    assert public.get("/verify.json", ask).json["valid"] is True
    page_url = graduate["pupil"] + "/graduate"

    clerk = Browser(app)
    clerk.login("clerk")
    page = clerk.get(page_url)
    assert page.html.find(id="revoke-form") is None  # the registrar may not
    token = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    clerk.post(graduate["pupil"] + "/revoke", {"csrf_token": token, "reason": "错发"}, status=403)

    head = Browser(app)
    head.login("head")
    form = head.get(page_url).forms["revoke-form"]
    form["reason"] = "   "
    assert "须填写原因" in form.submit(status=303).follow().text
    assert public.get("/verify.json", ask).json["valid"] is True  # nothing happened
    form = head.get(page_url).forms["revoke-form"]
    form["reason"] = "证书编号错发给同名学生"
    page = form.submit(status=303).follow()
    assert page.html.find(id="certificate-revoked") is not None and page.html.find(id="revoke-form") is None
    assert public.get("/verify.json", ask).body == b'{"valid": false}'  # as for a number never issued
    own_token = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    head.post(graduate["pupil"] + "/codes", {"csrf_token": own_token, "days": "30"}, status=404)
    with open_site(app) as site:
        entries = site.audit.newest(lambda e: e.action == "certificate-revoke")
        assert [(e.login, e.result) for e in entries] == [("head", "ok"), ("clerk", "denied")]
        assert dict(entries[0].detail)["reason"] == "证书编号错发给同名学生"
        assert graduate["number"] not in str(entries[0].detail)  # the number is masked
