"""Charts: every chart of the site drawn through this one module, on pygal.

Why pygal (and not plotly, matplotlib or hand-written SVG):

* **Server-side SVG.** pygal draws the chart in Python and hands back SVG
  text: nothing runs in the browser. Plotly's interactive charts need its
  3.5 MB JavaScript bundle, which injects ``<style>`` elements and inline
  styles at run time; the site's Content-Security-Policy (``style-src
  'self'``, no ``unsafe-inline``; views/headers.py) would have to be
  loosened for it. matplotlib brings NumPy and a font cache for what is
  a few rectangles and paths.
* **Printable and accessible.** SVG prints sharp at any size (the print
  views are A4) and carries text, so the chart can have a ``<title>``, a
  ``<desc>`` and an ``aria-label`` — and the data table stands beside it.
* **Well kept, pure Python**, already a dependency (setup.py), LGPL-3.0, no
  network at run time (we never let it fetch fonts or scripts).

pygal's SVG as it comes has a ``<style>`` element (its look is CSS keyed by
the chart's id) and a ``<script>`` (its tooltips' configuration, plus
``<script href>`` of kozea.github.io unless ``js=[]``). Neither survives
here: ``_csp_safe`` (a pygal ``xml_filter``) applies pygal's CSS itself,
rule by rule in cascade order, as SVG *presentation attributes* (``fill``,
``stroke``, ``font-family``, …), which no CSP governs; it drops every
``<style>``, ``<script>``, ``style=""`` attribute, comment and external
reference, and turns pygal's tooltip data into a native ``<title>`` per
bar, dot or box. The result is the same picture, valid inline in a page or
served as ``image/svg+xml`` under the site's CSP as it stands.

Kinds: ``bar`` (grouped, horizontal or vertical), ``line``, ``histogram``,
``box`` and ``calendar`` (a heat map of counts per day, weeks × weekdays,
drawn as a pygal chart of our own, ``CalendarGraph``). Each returns a
``Chart``: the SVG, its title, a text alternative (``description``) and the
data as a table (``header``, ``rows``) to print beside it. Labels are CJK:
the font family names CJK fonts first (WenQuanYi Micro Hei, Noto Sans CJK,
Source Han Sans, then the usual system ones).
"""
import datetime
import re
import statistics
from dataclasses import dataclass, field

import pygal
from pygal.graph.graph import Graph
from pygal.style import Style
from xueji_site.kernel.i18n import _

FONT_FAMILY = ('"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", '
               '"PingFang SC", sans-serif')
COLORS = ("#3b6ea5", "#c8553d", "#7a9e5b", "#8c6bb1", "#d4a017", "#2a9d8f", "#e76f51", "#6c757d")
HEAT = ("#ebedf0", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")  # calendar: none … most

STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#333333",
    foreground_strong="#1f2933", foreground_subtle="#7b8794", opacity=".9", opacity_hover=".9",
    transition="0ms", colors=COLORS, font_family=FONT_FAMILY, title_font_family=FONT_FAMILY,
    label_font_family=FONT_FAMILY, major_label_font_family=FONT_FAMILY, legend_font_family=FONT_FAMILY,
    value_font_family=FONT_FAMILY, value_label_font_family=FONT_FAMILY, tooltip_font_family=FONT_FAMILY,
    no_data_font_family=FONT_FAMILY, title_font_size=16, label_font_size=12, major_label_font_size=12,
    legend_font_size=12, value_font_size=11, no_data_font_size=20,
)

KINDS = ("bar", "line", "histogram", "box", "calendar")


@dataclass
class Chart:
    kind: str
    title: str
    description: str            # the text alternative: what the chart shows, in words
    header: list                # the data table to show beside the chart
    rows: list = field(default_factory=list)
    svg: str = ""

    @property
    def csp_safe(self):
        """True: the SVG carries no script, style element or external reference."""
        return not re.search(r"<script|<style|\sstyle=|xlink:href=\"(?!#)|href=\"(?!#)", self.svg)


def _config(title, description, **options):
    """pygal options shared by every kind: our style, no JavaScript (its CSS becomes attributes)."""
    config = dict(
        title=title, style=STYLE, js=[], disable_xml_declaration=True, explicit_size=True,
        width=options.pop("width", 720), height=options.pop("height", 420), legend_at_bottom=True,
        legend_at_bottom_columns=None, print_values=False, no_data_text=options.pop("no_data", "—"),
        truncate_legend=-1, truncate_label=-1, margin=12, show_y_guides=True, pretty_print=False,
    )
    config.update(options)
    return config


def _safe(chart, title, description, series_names):
    """Run ``_csp_safe`` on the chart's SVG tree before it is written out."""
    chart.xml_filters = [lambda root: _csp_safe(root, title, description, series_names)]


def _whole_ticks(values, most=8):
    """Counts are whole numbers: value-axis ticks at whole steps (pygal would put 0.2, 0.4 …)."""
    values = [v for v in values if v is not None]
    if not values or any(not float(v).is_integer() for v in values):
        return {}
    top = int(max(values + [1]))
    step = max(1, -(-top // most))
    return {"y_labels": list(range(0, top + step, step))}


def _render(chart, kind, title, description, header, rows):
    svg = chart.render(is_unicode=True)
    return Chart(kind, title, description, header, rows, svg)


def _number(value):
    return 0 if value is None else value


# -- the kinds ------------------------------------------------------------------------

def bar(title, categories, series, horizontal=True, description=None, unit=""):
    """Grouped bars: ``categories`` (one group each) × ``series`` [(name, [value per category])]."""
    categories = [str(c) for c in categories]
    height = max(260, 80 + len(categories) * (14 * max(1, len(series)) + 14)) if horizontal else 420
    chart = (pygal.HorizontalBar if horizontal else pygal.Bar)(**_config(
        title, description, height=height, **_whole_ticks([v for _n, vs in series for v in vs])))
    # pygal stacks horizontal categories bottom-up: reversed, the first row of the table is on top
    order = list(reversed(range(len(categories)))) if horizontal else list(range(len(categories)))
    chart.x_labels = [categories[i] for i in order]
    for name, values in series:
        chart.add(str(name), [_number(values[i]) for i in order])
    header = [""] + [str(name) for name, _v in series]
    rows = [[c] + [_number(values[i]) for _n, values in series] for i, c in enumerate(categories)]
    if description is None:
        description = _describe_table(title, header, rows, unit)
    _safe(chart, title, description, [n for n, _v in series])
    return _render(chart, "bar", title, description, header, rows)


def line(title, x_labels, series, description=None, unit=""):
    """Lines over ``x_labels`` (periods): ``series`` [(name, [value per label])]."""
    x_labels = [str(x) for x in x_labels]
    chart = pygal.Line(**_config(title, description, x_label_rotation=30 if len(x_labels) > 8 else 0,
                                 show_dots=True, dots_size=3,
                                 **_whole_ticks([v for _n, vs in series for v in vs])))
    chart.x_labels = x_labels
    for name, values in series:
        chart.add(str(name), [_number(v) for v in values])
    header = [""] + [str(name) for name, _v in series]
    rows = [[x] + [_number(values[i]) for _n, values in series] for i, x in enumerate(x_labels)]
    if description is None:
        description = _describe_table(title, header, rows, unit)
    _safe(chart, title, description, [n for n, _v in series])
    return _render(chart, "line", title, description, header, rows)


def bins_of(values, bins=10):
    """[(count, start, end)] of ``values`` in ``bins`` equal bins (the last one closed)."""
    values = [v for v in values if v is not None]
    if not values:
        return []
    low, high = min(values), max(values)
    if low == high:
        return [(len(values), low, high)]
    width = (high - low) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / width))] += 1
    return [(counts[i], low + i * width, low + (i + 1) * width) for i in range(bins)]


def histogram(title, values=None, bins=10, binned=None, name="", description=None, unit="", translate=str):
    """A histogram of ``values`` (or of ``binned`` [(count, start, end)] counted already)."""
    binned = list(binned) if binned is not None else bins_of(values or [], bins)
    chart = pygal.Histogram(**_config(title, description, show_legend=bool(name),
                                      **_whole_ticks([count for count, _s, _e in binned])))
    chart.add(str(name or title), [(count, start, end) for count, start, end in binned])
    header = [translate(_range_header()), str(name or title)]
    rows = [["%s–%s" % (_fmt(start), _fmt(end)), count] for count, start, end in binned]
    if description is None:
        description = _describe_table(title, header, rows, unit)
    _safe(chart, title, description, [name or title])
    return _render(chart, "histogram", title, description, header, rows)


def _range_header():
    return _("区间")


def _fmt(x):
    return ("%d" % x) if float(x).is_integer() else ("%.1f" % x)


def box(title, groups, description=None, unit="", translate=str):
    """Box plots (quartiles, whiskers at the extremes): ``groups`` [(label, [values])]."""
    chart = pygal.Box(**_config(title, description, box_mode="extremes", show_legend=True))
    for label, values in groups:
        chart.add(str(label), [v for v in values if v is not None])
    header = [""] + [translate(h) for h in (_("人数"), _("最小值"), _("下四分位"), _("中位数"), _("上四分位"),
                                            _("最大值"))]
    rows = []
    for label, values in groups:
        values = sorted(v for v in values if v is not None)
        rows.append([str(label), len(values)] + (list(_five(values)) if values else [""] * 5))
    if description is None:
        description = _describe_table(title, header, rows, unit)
    _safe(chart, title, description, [l for l, _v in groups])
    return _render(chart, "box", title, description, header, rows)


def _five(values):
    if len(values) == 1:
        return (values[0],) * 5
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return values[0], _round(q1), _round(median), _round(q3), values[-1]


def _round(x):
    return int(x) if float(x).is_integer() else round(x, 1)


def calendar(title, counts, start=None, end=None, description=None, unit="", translate=str):
    """A calendar heat map: one cell a day, weeks across, Monday to Sunday down.

    ``counts``: {date: n}. The period runs from ``start`` (default: the first
    day counted) to ``end`` (default: the last).
    """
    days = sorted(counts)
    start = start or (days[0] if days else datetime.date.today())
    end = end or (days[-1] if days else start)
    chart = CalendarGraph(**_config(title, description, show_legend=False, height=220,
                                    width=max(360, 80 + 14 * (((end - start).days + 7) // 7))))
    chart.period = (start, end)
    chart.counts = dict(counts)
    chart.add(str(title), [counts.get(d, 0) for d in _days(start, end)])
    header = [translate(_("日期")), translate(_("次数"))]
    rows = [[d.isoformat(), counts[d]] for d in days if start <= d <= end and counts[d]]
    if description is None:
        total = sum(n for _d, n in rows)
        busiest = max(rows, key=lambda r: r[1]) if rows else None
        description = "%s: %s–%s, %d%s%s" % (
            title, start.isoformat(), end.isoformat(), total, unit,
            ("; max %s (%d)" % (busiest[0], busiest[1])) if busiest else "")
    _safe(chart, title, description, [])
    return _render(chart, "calendar", title, description, header, rows)


def _days(start, end):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")


class CalendarGraph(Graph):
    """A pygal chart of our own: a heat map of one value a day, laid out as a calendar.

    Columns are weeks (Monday first), rows weekdays; a cell's colour steps
    through ``HEAT`` by its share of the busiest day. Month names label the
    first week of each month. Drawn with pygal's own SVG helper, so the
    common machinery (title, margins, xml_filters) is pygal's.
    """

    period = None
    counts = None

    def _compute(self):
        start, end = self.period
        self._first = start - datetime.timedelta(days=start.weekday())
        weeks = ((end - self._first).days // 7) + 1
        self._weeks = weeks
        self._box.xmin, self._box.xmax = 0, weeks
        self._box.ymin, self._box.ymax = 0, 7

    def _compute_x_labels(self):
        labels, seen = [], set()
        start, end = self.period
        for day in _days(start, end):
            key = (day.year, day.month)
            if key not in seen:
                seen.add(key)
                week = (day - self._first).days // 7
                labels.append(("%d-%02d" % key, week + 0.5))
        self._x_labels = labels

    def _compute_y_labels(self):
        self._y_labels = [(WEEKDAYS[i], 6.5 - i) for i in range(7)]

    def _plot(self):
        start, end = self.period
        biggest = max(self.counts.values()) if self.counts else 0
        serie_node = self.svg.serie(self.series[0]) if self.series else None
        parent = serie_node["plot"] if serie_node else self.nodes["plot"]
        cells = self.svg.node(parent, class_="calendar")
        width = self.view.x(1) - self.view.x(0)
        height = abs(self.view.y(0) - self.view.y(1))
        for day in _days(start, end):
            week = (day - self._first).days // 7
            n = self.counts.get(day, 0)
            level = 0 if not n or not biggest else 1 + min(len(HEAT) - 2, int((len(HEAT) - 1) * n / (biggest + 1)))
            x, y = self.view((week, 7 - day.weekday()))
            rect = self.svg.node(cells, "rect", x=x + 1, y=y + 1, width=max(1, width - 2),
                                 height=max(1, height - 2), class_="day", fill=HEAT[level])
            rect.set("data-date", day.isoformat())
            title = self.svg.node(rect, "title")
            title.text = "%s: %d" % (day.isoformat(), n)


# -- a text alternative from a table ---------------------------------------------------------

def _describe_table(title, header, rows, unit=""):
    """"Title: row a — series 1 3, series 2 4; row b — …" (every number, so nothing is lost)."""
    parts = []
    for row in rows[:60]:
        values = ", ".join("%s %s%s" % (header[i], row[i], unit) if header[i] else "%s%s" % (row[i], unit)
                           for i in range(1, len(row)))
        parts.append("%s — %s" % (row[0], values))
    more = " …" if len(rows) > 60 else ""
    return "%s: %s%s" % (title, "; ".join(parts), more)


# -- making pygal's SVG safe under the site's CSP -------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
PRESENTATION = {
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-dasharray",
    "stroke-dashoffset", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "opacity", "font-family",
    "font-size", "font-weight", "font-style", "text-anchor", "dominant-baseline", "visibility", "display",
}


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _csp_safe(root, title, description, series_names):
    """The pygal_xml filter: CSS into presentation attributes; no style, script, comment or link."""
    parents = {child: parent for parent in root.iter() for child in parent}
    css = "\n".join(e.text or "" for e in root.iter() if _local(e.tag) == "style")
    _apply_css(root, parents, css)
    # tooltips: pygal's data for its script becomes a native <title> per element
    for group in list(root.iter()):
        descs = [c for c in group if _local(c.tag) == "desc"]
        if not descs:
            continue
        info = {d.get("class", "").split()[0]: (d.text or "") for d in descs}
        for d in descs:
            group.remove(d)
        label = _tooltip(group, parents, info, series_names)
        if label:
            tip = _sub(group, "title")
            tip.text = label
    for element in list(root.iter()):
        for child in list(element):
            name = _local(child.tag)
            cls = child.get("class", "") if name else ""
            if not name or name in ("style", "script") or "tooltip-overlay" in cls.split():
                element.remove(child)  # comments, processing instructions, style, script, tooltip box
    for element in root.iter():
        element.attrib.pop("style", None)
        for key in list(element.attrib):
            if _local(key) == "href" and not element.attrib[key].startswith("#"):
                del element.attrib[key]
    # the text alternative: <title> and <desc> first, role and aria-label on the root
    for child in list(root):
        if _local(child.tag) == "title":
            root.remove(child)
    chart_id = root.get("id") or "chart"
    heading = _element(root, "title")
    heading.text = title
    heading.set("id", chart_id + "-title")
    desc = _element(root, "desc")
    desc.text = description or title
    desc.set("id", chart_id + "-desc")
    root.insert(0, desc)
    root.insert(0, heading)
    root.set("role", "img")
    root.set("aria-label", title)
    root.set("aria-labelledby", chart_id + "-title")
    root.set("aria-describedby", chart_id + "-desc")
    return root


def _element(root, name):
    tag = "{%s}%s" % (SVG_NS, name) if root.tag.startswith("{") else name
    return root.makeelement(tag, {})


def _sub(parent, name):
    element = _element(parent, name)
    parent.append(element)
    return element


def _tooltip(group, parents, info, series_names):
    """"男 · 一年级: 3" for a bar of series 男 in category 一年级 (whatever pygal gave)."""
    value = info.get("value", "")
    x_label = info.get("x_label", "")
    serie = None
    node = group
    while node is not None:
        match = re.search(r"\bserie-(\d+)\b", node.get("class", ""))
        if match:
            serie = int(match.group(1))
            break
        node = parents.get(node)
    name = series_names[serie] if serie is not None and serie < len(series_names) else ""
    head = " · ".join(str(p) for p in (name, x_label) if p)
    return "%s: %s" % (head, value) if head else value


# A minimal CSS cascade, enough for pygal's own style sheets: type, class, id and
# attribute selectors, :not(), descendant and child combinators. Rules with any
# other pseudo-class (:hover, :visited, …) describe interaction and are left out.

_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE = re.compile(r"(\*|[a-zA-Z][\w-]*)|(\.[\w-]+)|(#[\w-]+)|(\[[^\]]+\])|(:not\([^)]*\))|(:[\w-]+(?:\([^)]*\))?)")


def _parse_compound(text):
    """[('tag'|'class'|'id'|'attr'|'not', value)] or None when unsupported."""
    parts, position = [], 0
    while position < len(text):
        match = _SIMPLE.match(text, position)
        if not match:
            return None
        tag, cls, ident, attr, negation, pseudo = match.groups()
        if tag:
            parts.append(("tag", tag))
        elif cls:
            parts.append(("class", cls[1:]))
        elif ident:
            parts.append(("id", ident[1:]))
        elif attr:
            parts.append(("attr", attr[1:-1].strip()))
        elif negation:
            inner = _parse_compound(negation[5:-1].strip())
            if inner is None:
                return None
            parts.append(("not", inner))
        else:
            return None  # :hover and the like
        position = match.end()
    return parts


def _parse_selector(text):
    """[(combinator, compound)] left to right, or None when unsupported."""
    tokens = re.findall(r">|[^\s>]+", text.strip())
    steps, combinator = [], " "
    for token in tokens:
        if token == ">":
            combinator = ">"
            continue
        compound = _parse_compound(token)
        if compound is None:
            return None
        steps.append((combinator, compound))
        combinator = " "
    return steps or None


def _specificity(steps):
    ids = classes = tags = 0

    def count(compound):
        nonlocal ids, classes, tags
        for kind, value in compound:
            if kind == "id":
                ids += 1
            elif kind in ("class", "attr"):
                classes += 1
            elif kind == "tag" and value != "*":
                tags += 1
            elif kind == "not":
                count(value)
    for _c, compound in steps:
        count(compound)
    return ids, classes, tags


def _matches_compound(element, compound):
    for kind, value in compound:
        if kind == "tag":
            if value != "*" and _local(element.tag) != value:
                return False
        elif kind == "class":
            if value not in element.get("class", "").split():
                return False
        elif kind == "id":
            if element.get("id") != value:
                return False
        elif kind == "attr":
            name, _eq, expected = value.partition("=")
            if name.strip() not in element.attrib:
                return False
            if _eq and element.get(name.strip()) != expected.strip().strip("\"'"):
                return False
        elif kind == "not":
            if _matches_compound(element, value):
                return False
    return True


def _matches(element, steps, parents):
    combinator, compound = steps[-1]
    if not _matches_compound(element, compound):
        return False
    if len(steps) == 1:
        return True
    rest = steps[:-1]
    parent = parents.get(element)
    if combinator == ">":
        return parent is not None and _matches(parent, rest, parents)
    while parent is not None:
        if _matches(parent, rest, parents):
            return True
        parent = parents.get(parent)
    return False


def _declarations(text):
    found = []
    for item in text.split(";"):
        name, colon, value = item.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not colon or name not in PRESENTATION or not value:
            continue
        important = value.endswith("!important")
        value = value[:-len("!important")].strip() if important else value
        found.append((name, value, important))
    return found


def _apply_css(root, parents, css):
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules = []
    for order, (selectors, body) in enumerate(_RULE.findall(css)):
        declarations = _declarations(body)
        if not declarations:
            continue
        for selector in selectors.split(","):
            steps = _parse_selector(selector)
            if steps is not None:
                rules.append((_specificity(steps), order, steps, declarations))
    rules.sort(key=lambda rule: (rule[0], rule[1]))
    elements = [e for e in root.iter() if _local(e.tag)]
    computed = {}
    for _spec, _order, steps, declarations in rules:
        for element in elements:
            if _matches(element, steps, parents):
                mine = computed.setdefault(element, {})
                for name, value, important in declarations:
                    if important or not mine.get(name, ("", False))[1]:
                        mine[name] = (value, important)
    for element, values in computed.items():
        for name, (value, _important) in values.items():
            element.set(name, value)
    for element in elements:  # style="" beats the rules unless they said !important
        style = element.get("style")
        if style:
            for name, value, _i in _declarations(style):
                if not computed.get(element, {}).get(name, ("", False))[1]:
                    element.set(name, value)
