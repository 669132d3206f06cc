"""Every role's home page shows what that role can do, and no link leads to a refusal.

For each role of the test tree the client logs in through the real form and
walks, breadth first, every same-origin GET link reachable from its home page
(three clicks deep), skipping only logout and downloads. Each page must answer
200, directly or after redirects: a link the user may not follow is a link
that should not have been shown.
"""
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from pyramid.threadlocal import get_current_registry

from .conftest import Browser, add_user, build_tree, open_site

DEPTH = 3
# Links that leave a file rather than a page, or end the session.
DOWNLOAD_PARAMS = ("export", "format", "pdf")
DOWNLOAD_VIEWS = ("import-template", "import-report", "report.svg", "photo", "verify-captcha.png")
ORIGIN = "http://localhost"

# login → (role, where it is granted: a build_tree name, or "site")
ROLES = {
    "sysadmin": ("sysadmin", "site"),
    "secadmin": ("security_admin", "site"),
    "auditor": ("auditor", "site"),
    "province": ("bureau_admin", "province"),
    "county": ("bureau_admin", "county_a"),
    "principal": ("principal", "school_a"),
    "registrar": ("school_registrar", "school_a"),
    "head": ("head_teacher", "class_a"),
    "teacher": ("teacher", "class_a"),
    "guardian": ("guardian", "pupil_a"),
}


class Links(HTMLParser):
    """The links of a page, and the labels of its navigation landmarks."""

    def __init__(self):
        super().__init__()
        self.hrefs = []
        self.navs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)
        elif tag == "nav":
            self.navs.append(dict(attrs).get("aria-label"))


def nav_labels(html):
    parser = Links()
    parser.feed(html)
    return parser.navs


def links_of(page_url, html):
    parser = Links()
    parser.feed(html)
    found = []
    for href in parser.hrefs:
        if href.startswith(("#", "mailto:", "tel:", "javascript:")):
            continue
        url = urljoin(page_url, href)
        parts = urlsplit(url)
        if "%s://%s" % (parts.scheme, parts.netloc) != ORIGIN:
            continue
        found.append(url.split("#")[0])
    return found


def is_skipped(url):
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return (any(name in query for name in DOWNLOAD_PARAMS) or last in DOWNLOAD_VIEWS
            or last == "logout" or parts.path.startswith(("/static/", "/static-deform/")))


def crawl(client, depth=DEPTH, landmarks=None):
    """{url: (status, the page it was linked from)} for every page reachable from the home page.
    ``landmarks`` (a dict), when given, collects {url: nav labels} of pages whose
    navigation landmarks are unlabelled or share a label (axe ``landmark-unique``)."""
    seen = {ORIGIN + "/": (None, None)}
    queue = deque([(ORIGIN + "/", 0)])
    while queue:
        url, level = queue.popleft()
        response = client.get(url[len(ORIGIN):], status="*")
        while response.status_int in (301, 302, 303, 307) and urlsplit(response.location).netloc in ("", "localhost"):
            response = response.follow(status="*")
        seen[url] = (response.status_int, seen[url][1])
        if response.status_int != 200 or response.content_type != "text/html":
            continue
        labels = nav_labels(response.text)
        if landmarks is not None and (None in labels or len(set(labels)) != len(labels)):
            landmarks[url] = labels
        if level >= depth:
            continue
        for link in links_of(url, response.text):
            if link not in seen and not is_skipped(link):
                seen[link] = (None, url)
                queue.append((link, level + 1))
    return seen


@pytest.fixture
def everyone(app):
    with open_site(app) as site:
        nodes = build_tree(site, get_current_registry())
        nodes["site"] = site
        for login, (role, where) in ROLES.items():
            add_user(site, login, role, at=nodes[where])
    return app


@pytest.mark.parametrize("login", sorted(ROLES))
def test_every_link_from_a_roles_home_answers_200(everyone, login):
    client = Browser(everyone, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    client.login(login)
    landmarks = {}
    seen = crawl(client, landmarks=landmarks)
    broken = {url: found for url, found in seen.items() if found[0] != 200}
    assert broken == {}, "links that do not answer 200 for %s: %r" % (login, broken)
    assert len(seen) > 3, "the home page of %s leads almost nowhere: %r" % (login, sorted(seen))
    assert landmarks == {}, "pages with unlabelled or twice-labelled <nav>: %r" % landmarks


def test_navigation_landmarks_have_distinct_translated_labels(everyone):
    client = Browser(everyone, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    client.login("registrar")
    school = client.get("/110000/110105/2111000001/")
    assert nav_labels(school.text) == ["用户菜单", "导航路径", "本页操作"]
    client.set_cookie("_LOCALE_", "en")
    labels = nav_labels(client.get("/110000/110105/2111000001/").text)
    assert len(labels) == 3 and len(set(labels)) == 3 and "用户菜单" not in labels and "本页操作" not in labels


def test_the_auditors_home_shows_the_auditors_tools(everyone):
    client = Browser(everyone, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    client.login("auditor")
    home = client.get("/")
    assert "您目前没有任何授权" not in home.text
    for path in ("/audit", "/alerts", "/audit-verify"):
        assert 'href="%s%s"' % (ORIGIN, path) in home.text, path


def test_a_teachers_class_list_does_not_link_pupils_the_teacher_may_not_open(everyone):
    client = Browser(everyone, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    client.login("teacher")
    listing = client.get("/110000/110105/2111000001/2024-03/")
    assert "李明" in listing.text  # the pupil is listed ...
    with open_site(everyone) as site:
        pupil = next(iter(site["110000"]["110105"]["2111000001"]["2024-03"].values()))
        key = pupil.__name__
    assert key not in listing.text  # ... but not linked: the teacher may not open the record


def test_the_auditors_chain_check_finds_a_changed_entry(everyone):
    from xueji_site.kernel import audit
    client = Browser(everyone, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "zh-CN"})
    client.login("auditor")
    with open_site(everyone) as site:
        assert audit.seal(site.audit) > 0
    page = client.get("/audit-verify")
    assert page.html.find(id="audit-chain-ok") is not None and page.html.find(id="audit-chain-failed") is None
    with open_site(everyone) as site:  # someone with write access to the database edits an entry
        log = site.audit
        key = log.seals[log.head[0]][0]
        record = list(log.entries[key])
        record[2] = "somebody-else"
        log.entries[key] = tuple(record)
    page = client.get("/audit-verify")
    assert page.html.find(id="audit-chain-failed") is not None and "审计记录被修改" in page.text
    with open_site(everyone) as site:
        checks = site.audit.newest(lambda e: e.action == "audit-verify")
        assert [e.result for e in checks] == ["failed", "ok"] and {e.login for e in checks} == {"auditor"}
