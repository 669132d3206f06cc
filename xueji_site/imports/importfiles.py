"""The files an import hands out: the blank template and the checked report.

Both are xlsx. The report is the uploaded sheet given back with one more
column saying, per row, what is wrong; every cell goes through the exports'
formula defusing (``kernel.spreadsheets.defuse``), since the uploaded cells are
untrusted and a spreadsheet would run ``=HYPERLINK(…)``.

The report is streamed (a write-only workbook): openpyxl writes each sheet
to a temporary file (``openpyxl.*`` in the temp dir) holding the uploaded rows
in clear — names, ID numbers — and removes it only when the book is saved,
or at interpreter exit. A report abandoned half-way (a file refused at row
N) would leave it there for the life of the server process, so ``Report``
removes its sheets' files on ``close()``, on leaving a ``with`` block, and
when it is garbage-collected.
"""
import weakref

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation


from xueji_site.standards import countries
from xueji_site.kernel.i18n import _
from xueji_site.imports.importing import CLASS_TITLE, EXISTS, NEW, RESULT_TITLE
from xueji_site.kernel.spreadsheets import defuse, discard_temporary_files, text_of, xlsx_bytes

KIND_HINTS = {
    "code": _("从下拉列表选择，或填写代码、名称"),
    "date": _("日期，格式 YYYY-MM-DD"),
    "month": _("年月，如 202609 或 2026-09"),
    "place": _("行政区划代码或地名，如 330102 或 浙江省杭州市上城区"),
    "country": _("名称或三位字母代码，如 中国 或 CHN"),
    "bool": _("填写“是”或“否”"),
    "int": _("整数"),
    "number": _("数字"),
    "text": _("文本"),
}
CODES_SHEET = "codes"
BAD_FILL = PatternFill("solid", fgColor="FFC7CE")   # Excel's own "bad" red
BAD_FONT = Font(color="9C0006")
COMMENT_AUTHOR = "xueji"


class Report:
    """The uploaded rows plus a result column, streamed (write-only workbook)."""

    def __init__(self, translate):
        self.t = translate
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(translate(_("检查结果")))
        self._discard = weakref.finalize(self, discard_temporary_files, self.book)

    def close(self):
        """Remove the temporary files of a report that was not finished."""
        self._discard()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, header):
        self.width = len(header)
        self.sheet.append([defuse(text_of(h)) for h in header] + [self.t(RESULT_TITLE)])

    def add(self, cells, result):
        """The row as uploaded, each bad cell filled red with its messages as
        a comment, and the verdict in the last column."""
        if result.status == NEW:
            verdict = self.t(_("可导入"))
        elif result.status == EXISTS:
            verdict = self.t(_("已在本校登记，跳过"))
        else:
            verdict = "；".join(result.messages)
        width = max([len(cells)] + [p + 1 for p in result.cells])
        row = []
        for position in range(width):
            value = defuse(text_of(cells[position])) if position < len(cells) else ""
            messages = result.cells.get(position)
            if not messages:
                row.append(value)
                continue
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.fill, cell.font = BAD_FILL, BAD_FONT
            cell.comment = Comment("\n".join(messages), COMMENT_AUTHOR, width=300, height=120)
            row.append(cell)
        verdict_cell = WriteOnlyCell(self.sheet, value=defuse(verdict))
        if result.status not in (NEW, EXISTS):
            verdict_cell.font = BAD_FONT
        self.sheet.append(row + [""] * (self.width - len(row)) + [verdict_cell])

    def finish(self, summary):
        sheet = self.book.create_sheet(self.t(_("汇总")))
        t = self.t
        for label, value in ((_("数据行"), summary.rows), (_("可导入"), summary.new),
                             (_("已在本校登记，跳过"), summary.exists), (_("有错误"), summary.errors),
                             (_("已导入"), summary.created)):
            sheet.append([t(label), value])
        if summary.missing_columns:
            sheet.append([t(_("缺少的必填列")), "、".join(summary.missing_columns)])
        if summary.recognised_columns:
            sheet.append([t(_("已识别的列")), defuse("、".join(recognised_texts(summary)))])
        if summary.unknown_columns:
            sheet.append([t(_("未识别的列（已忽略）")), defuse("、".join(summary.unknown_columns))])
        try:
            return xlsx_bytes(self.book)
        finally:
            self.close()


def recognised_texts(summary):
    """"身份证件号 → 证件号码", or the title alone where the header is ours."""
    return [written if written == ours else "%s → %s" % (written, ours)
            for written, ours in summary.recognised_columns]


def template(cols, translate):
    """A blank import sheet: Chinese headers, drop-downs for code columns,
    text format for the rest (so Excel keeps 18-digit ID numbers exact), an
    instructions sheet and a hidden sheet of codes behind the drop-downs."""
    book = Workbook()
    sheet = book.active
    sheet.title = "学生"
    codes_sheet = book.create_sheet(CODES_SHEET)
    codes_sheet.sheet_state = "hidden"
    headers = [str(c.title) for c in cols] + [str(CLASS_TITLE)]
    sheet.append(headers)
    for index, col in enumerate(cols, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 16
        sheet.cell(row=1, column=index).font = Font(bold=True, color="C00000" if col.required else "000000")
        if col.kind == "code":
            _dropdown(sheet, codes_sheet, index, col.table, col.required, translate)
        elif col.kind == "country":
            _dropdown(sheet, codes_sheet, index, countries.table(), col.required, translate)
        elif col.kind == "date":
            _format_column(sheet, letter, "yyyy-mm-dd")
        else:
            _format_column(sheet, letter, "@")
    _format_column(sheet, get_column_letter(len(cols) + 1), "@")
    sheet.freeze_panes = "A2"
    _instructions(book.create_sheet("说明"), cols, translate)
    return xlsx_bytes(book)


def _format_column(sheet, letter, number_format, rows=1000):
    for row in range(2, rows + 2):
        sheet["%s%d" % (letter, row)].number_format = number_format


def _dropdown(sheet, codes_sheet, index, table, required, translate):
    """A drop-down of this column's own table ("1 走读", "2 住校"), kept in
    the hidden codes sheet's column of the same letter. A typed code or
    name alone (走读) is right too, so Excel only warns and lets it stand:
    the importer is the one that refuses a value of no entry."""
    letter = get_column_letter(index)
    for row, (code, label) in enumerate(table, start=1):
        codes_sheet.cell(row=row, column=index, value="%s %s" % (code, translate(label)))
    source = "%s!$%s$1:$%s$%d" % (CODES_SHEET, letter, letter, max(len(table), 1))
    check = DataValidation(type="list", formula1="=" + source, allow_blank=not required,
                           errorStyle="warning", showErrorMessage=True)
    check.errorTitle = translate(_("不在列表中"))
    check.error = translate(_("请从列表中选择，或填写代码或名称（如“1”或“走读”）；导入时会再检查。"))
    check.add("%s2:%s1001" % (letter, letter))
    sheet.add_data_validation(check)


def _instructions(sheet, cols, translate):
    t = translate
    sheet.append([t(_("学生批量导入说明"))])
    sheet.append([t(_("第一行为表头，请勿修改；每行一名学生。红色表头为必填项。"))])
    sheet.append([t(_("“班级”列填写班级编号（如 2024-03 表示2024级3班），也可在导入时统一指定。"))])
    sheet.append([t(_("代码列可填写代码或名称，例如“1”或“男”、“01”或“汉族”。"))])
    sheet.append([t(_("地点可填写行政区划代码或地名（如 浙江省杭州市上城区）；国籍可填写“中国”或“CHN”；日期可写 2017-03-12、2017.03.12、20170312 或 2017年3月12日。"))])
    sheet.append([t(_("也可直接上传全国学籍系统格式的表格（身份证件类型、身份证件号、是否独生子女等列名）。"))])
    sheet.append([])
    sheet.append([t(_("列")), t(_("必填")), t(_("填写方式")), t(_("说明"))])
    for col in cols:
        sheet.append([str(col.title), t(_("是")) if col.required else t(_("否")),
                      t(KIND_HINTS[col.kind]), t(col.description) if col.description else ""])
    sheet.append([str(CLASS_TITLE), "", t(_("班级编号，如 2024-03")), ""])
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["C"].width = 30
    sheet.column_dimensions["D"].width = 50
