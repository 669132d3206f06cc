"""A pupil's transcript (成绩档案): the term result of every subject of every term
the pupil has marks in, as plain values that outlive the exams — the archive keeps
it with the graduate's record (graduates/archive.py), after the sheets are gone.

One row per (term, subject): ``(term, subject code, level letter or None, percent
or None)``. The percent is the weighted term result of scored subjects
(stats.term_result); the level is that result's level under the subject's
cut-offs in the term's last exam, or, for subjects kept as levels, pass/fail or
comments, the level of the last mark. A term result still waiting for a make-up
(缺考, 缓考) has neither. Labels are resolved when shown, so a transcript reads in
the reader's language."""
from xueji_site.grades import books, codes, marks, results, stats


def _last_marks(site, key):
    """{(term, subject): (value, setup)} of the latest exam of each term that has the subject."""
    found = {}
    sheets = sorted(books.sheets_of_pupil(site, key), key=lambda s: (s.exam.term, s.exam.created, s.exam.id))
    for sheet in sheets:
        for subject, setup in sheet.exam.subjects.items():
            value = sheet.value(subject, key)
            if value != books.BLANK:
                found[(sheet.exam.term, subject)] = (value, setup)
    return found


def transcript(site, pupil):
    """The pupil's transcript rows, oldest term first (an empty tuple without marks)."""
    key = pupil.__name__
    last = _last_marks(site, key)
    terms = sorted({term for term, _subject in last})
    rows = []
    for term in terms:
        for subject, result in results.term_results(site, pupil, term).items():
            value, setup = last.get((term, subject), (books.BLANK, None))
            if setup is None or result == stats.PENDING:
                continue
            if result is not None:
                rows.append((term, subject, marks.level_of_share(result / 100, setup), result))
            elif setup["scale"] != codes.COMMENT:
                rows.append((term, subject, marks.level_of(value, setup), None))
    return tuple(rows)
