"""Translations: the catalogues cover the code, and the real app speaks
Simplified Chinese by default, Traditional Chinese and English on request."""
import re

import pytest
import webtest

from xueji_site.scripts import catalogs

from .conftest import Browser, add_user, open_site


# --------------------------------------------------------------------------
# The catalogues

def test_catalogues_cover_every_string_in_the_code():
    """A new _("...") or i18n:translate without zh_Hant and en translations fails here.
    Fix with `python -m xueji_site.scripts.catalogs update`, translate, update again."""
    problems = catalogs.check()
    assert not problems, "\n".join(problems)


def test_catalogue_files_exist_for_every_locale():
    for locale in catalogs.LOCALES:
        assert catalogs.load_po(locale) is not None
    assert len([m for m in catalogs.load_po("en") if m.id]) > 100


def _chameleon_msgids(body):
    """The msgids Chameleon itself passes to translate() when rendering body."""
    from chameleon import PageTemplate
    seen = []

    def translate(msgid, domain=None, mapping=None, context=None, target_language=None, default=None):
        if domain == catalogs.DOMAIN:
            seen.append(str(msgid))
        return default if default is not None else msgid

    PageTemplate(body)(translate=translate, name="N", who="W", items=["a"])
    return seen


_SNIPPETS = [
    '<p i18n:translate="">登录</p>',
    '<p><tal:t i18n:translate="">确定要删除</tal:t> <strong>${name}</strong>?</p>',
    '<p i18n:translate="">\n   多行   文本\n  分成几行 </p>',
    '<p i18n:translate="">已授予 <b i18n:name="login">${who}</b>：<span i18n:name="role">${name}</span></p>',
    '<p i18n:translate="">请先 <a href="/x" class="y">登录</a> 再试</p>',
    '<p i18n:translate="">共 <tal:n i18n:name="n" replace="name"/> 条</p>',
    '<p i18n:translate="explicit-id">显式</p>',
    '<input title="搜索" placeholder="输入姓名" i18n:attributes="title; placeholder">',
    '<a i18n:translate="">外层 <span i18n:name="inner"><tal:t i18n:translate="">内层</tal:t></span></a>',
    '<div i18n:domain="other"><p i18n:translate="">别的域</p></div>',
]


@pytest.mark.parametrize("snippet", _SNIPPETS)
def test_template_msgids_are_formed_as_chameleon_forms_them(snippet):
    body = ('<div xmlns:i18n="http://xml.zope.org/namespaces/i18n" '
            'xmlns:tal="http://xml.zope.org/namespaces/tal" i18n:domain="xueji">%s</div>' % snippet)
    out = catalogs.Extraction()
    catalogs.extract_template(body, "snippet.pt", out)
    assert not out.problems
    assert sorted(out.messages) == sorted(set(_chameleon_msgids(body)))


def test_interpolation_inside_translate_is_reported():
    body = ('<div xmlns:i18n="http://xml.zope.org/namespaces/i18n" i18n:domain="xueji">'
            '<p i18n:translate="">共 ${name} 条</p><th i18n:translate="">${name}</th></div>')
    # Chameleon renders the value into the msgid: it could never be translated.
    assert _chameleon_msgids(body)[0] == "共 N 条"
    out = catalogs.Extraction()
    catalogs.extract_template(body, "t.pt", out)
    assert len(out.problems) == 1 and "t.pt:1" in out.problems[0]
    assert out.notes and not out.messages     # a lone ${value} is the runtime-translation idiom


def test_python_extraction():
    source = '''
from xueji_site.kernel.i18n import _
A = _("学校名称")
B = _("已添加：${title}", mapping={"title": "x"})
TABLE = tuple((c, _(n)) for c, n in (("01", "汉族"), ("02", "蒙古族")))
C = _(some_variable)
D = _(f"{B}")
'''
    out = catalogs.Extraction()
    catalogs.extract_python(source, "m.py", out)
    assert set(out.messages) == {"学校名称", "已添加：${title}", "汉族", "蒙古族"}
    assert out.messages["蒙古族"] == [("m.py", 5)]
    assert [p.split(":")[1] for p in out.problems] == ["6", "7"]


def test_placeholders():
    assert catalogs.placeholders("代码 ${code} 不属于 ${parent}") == {"code", "parent"}
    assert catalogs.placeholders("$$5 and $name") == {"name"}


# --------------------------------------------------------------------------
# The running application

def _h1(page):
    return re.search(r"<h1>(.*?)</h1>", page.text).group(1)


def _required_errors(page):
    return re.findall(r'<p class="invalid-feedback"[^>]*>([^<]*)</p>', page.text)


def _submit_empty_login(client):
    return client.get("/login").forms["login-form"].submit("submit", status=200)


def test_login_page_default_is_simplified_chinese(browser):
    page = browser.get("/login")
    assert _h1(page) == "登录"
    assert 'lang="zh-Hans"' in page.text
    assert "全国中小学生学籍管理" in page.text


def test_english_by_cookie(browser):
    browser.set_cookie("_LOCALE_", "en")
    page = browser.get("/login")
    assert _h1(page) == "Log in"
    assert 'lang="en"' in page.text
    assert re.search(r'id="login-formsubmit"[^>]*>\s*Log in\s*</button>', page.text)   # deform button, from Python
    assert "登录" not in page.text


def test_english_by_language_switch(browser):
    response = browser.get("/language?l=en", status=303)
    assert "_LOCALE_=en" in response.headers["Set-Cookie"]
    assert _h1(browser.get("/login")) == "Log in"
    browser.get("/language?l=zh_Hant", status=303)
    assert _h1(browser.get("/login")) == "登入"


def test_traditional_chinese_by_cookie(browser):
    browser.set_cookie("_LOCALE_", "zh_Hant")
    page = browser.get("/login")
    assert _h1(page) == "登入"
    assert "全國中小學生學籍管理" in page.text
    assert 'lang="zh-Hant"' in page.text


@pytest.mark.parametrize("header", ["zh-TW", "zh-HK", "zh-Hant", "zh-TW,zh;q=0.9,en;q=0.8"])
def test_accept_language_alone_selects_traditional(app, header):
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": header})
    assert _h1(client.get("/login")) == "登入"


def test_accept_language_english(app):
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"})
    assert _h1(client.get("/login")) == "Log in"


def test_cookie_beats_accept_language(app):
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-TW"})
    client.set_cookie("_LOCALE_", "en")
    assert _h1(client.get("/login")) == "Log in"


@pytest.mark.parametrize("value", ["fr", "zh_CN", "", "../../etc"])
def test_unknown_cookie_falls_back_to_simplified(app, value):
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    client.set_cookie("_LOCALE_", value)
    page = client.get("/login")
    assert _h1(page) == "登录"
    assert 'lang="zh-Hans"' in page.text


def test_unknown_language_switch_sets_no_cookie(browser):
    response = browser.get("/language?l=fr", status=303)
    assert "_LOCALE_" not in response.headers.get("Set-Cookie", "")


def test_colander_required_in_chinese_by_default(browser):
    errors = _required_errors(_submit_empty_login(browser))
    assert errors and set(errors) == {"必需"}     # colander's own zh_Hans catalogue


def test_colander_required_in_english(browser):
    browser.set_cookie("_LOCALE_", "en")
    errors = _required_errors(_submit_empty_login(browser))
    assert errors and set(errors) == {"Required"}


def test_colander_required_in_traditional_chinese(browser):
    browser.set_cookie("_LOCALE_", "zh_Hant")
    errors = _required_errors(_submit_empty_login(browser))
    assert errors and set(errors) == {"必填"}     # our supplement: colander's zh_Hant lacks it


def test_failed_login_message_is_translated(app):
    with open_site(app) as site:
        add_user(site, "admin", "sysadmin")
    client = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    client.set_cookie("_LOCALE_", "en")
    page = client.login("admin", password="wrong-password-1", status=200)
    assert "Wrong login name or password" in page.text


def test_logged_in_pages_in_each_locale(app):
    with open_site(app) as site:
        add_user(site, "admin", "sysadmin")
    expected = {"zh_Hans": ("退出", "<h2>添加</h2>", "<h1>全国学籍管理</h1>"),
                "zh_Hant": ("登出", "<h2>新增</h2>", "<h1>全國學籍管理</h1>"),
                "en": ("Log out", "<h2>Add</h2>", "<h1>National student registry</h1>")}
    for locale, texts in expected.items():
        client = Browser(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        client.set_cookie("_LOCALE_", locale)
        page = client.login("admin").follow()
        for text in texts:
            assert text in page.text, (locale, text)
