"""Grades' core (issue 13, first part): reading marks, the codes' effects on the
figures, entering a column (who may, locks, stale grids, history), a locked
mark changed through the approval chain, and the family-view policy.

Real objects on an in-memory ZODB, with every feature's registrations."""
import pytest
import transaction
import ZODB
from pyramid.threadlocal import manager

from xueji_site.grades import assignments, books, codes, corrections, entry, marks, policy, stats
from xueji_site.grades.books import BLANK, CODE_VALUES
from xueji_site.kernel import chain, history, security
from xueji_site.kernel.root import ROOT_KEY, make_site

from .conftest import add_user, build_tree, student_values, valid_id

SCORE = marks.setup_for(codes.SCORE, 100)
TERM = "2026-1"


@pytest.fixture(scope="module")
def grades_registry(registrations):
    return registrations  # the session's: grades is among the features


@pytest.fixture
def world(grades_registry):
    manager.push({"registry": grades_registry, "request": None})
    db = ZODB.DB(None)
    conn = db.open()  # the thread's transaction manager: mail joins it as the app's does
    site = make_site(grades_registry)
    conn.root()[ROOT_KEY] = site
    conn.add(site)
    tree = build_tree(site, grades_registry)
    klass = tree["class_a"]
    from xueji_site.kernel import content
    second = content.create("Student", klass, student_values(valid_id("11010520170401002"), "张伟", "1"),
                            grades_registry)
    teacher = add_user(site, "maths")
    other = add_user(site, "chinese")
    assignments.assign(klass, TERM, "02", teacher, grades_registry)
    assignments.assign(klass, TERM, "01", other, grades_registry)
    principal = add_user(site, "principal", "principal", tree["school_a"])
    exam = books.add_exam(site, tree["school_a"], "期中考试", codes.MIDTERM, TERM, (3,),
                          {"01": SCORE, "02": SCORE, "12": marks.setup_for(codes.LEVEL)})
    yield dict(tree, site=site, registry=grades_registry, klass=klass, exam=exam, teacher=teacher, other=other,
               principal=principal, first=tree["pupil_a"], second=second)
    transaction.abort()
    conn.close()
    db.close()
    manager.pop()


# -- cells ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [("85.5", 855), ("85.25", 853), ("100", 1000), ("0", 0), ("", BLANK),
                                         ("  ", BLANK), ("缺考", CODE_VALUES[codes.ABSENT]),
                                         ("免考", CODE_VALUES[codes.EXEMPT]), ("作弊", CODE_VALUES[codes.CHEATED])])
def test_a_cell_reads_as_a_mark_a_code_or_blank(text, value):
    assert marks.parse(text, SCORE) == value


@pytest.mark.parametrize("text, says", [("101", "满分"), ("-1", "负数"), ("八十", "数字"), ("nan", "数字"),
                                        ("A", "数字")])
def test_a_cell_that_is_no_mark_is_refused_saying_why(text, says):
    with pytest.raises(marks.MarkError) as refused:
        marks.parse(text, SCORE)
    assert says in refused.value.args[0].interpolate()


def test_levels_read_as_letters_or_words_and_scores_get_their_level():
    level = marks.setup_for(codes.LEVEL)
    assert [marks.parse(t, level) for t in ("A", "良好", "c", "待合格")] == [0, 1, 2, 3]
    with pytest.raises(marks.MarkError):
        marks.parse("90", level)
    assert [marks.level_of(v, SCORE) for v in (850, 849, 750, 600, 599)] == ["A", "B", "B", "C", "D"]
    assert marks.level_of(CODE_VALUES[codes.CHEATED], SCORE) == "D" and marks.level_of(BLANK, SCORE) is None


# -- figures --------------------------------------------------------------------------------

def test_blank_is_not_zero_and_each_code_counts_as_stated():
    values = [900, 800, BLANK, CODE_VALUES[codes.ABSENT], CODE_VALUES[codes.EXEMPT],
              CODE_VALUES[codes.DEFERRED], CODE_VALUES[codes.CHEATED], 500]
    found = stats.summarise(values, SCORE)
    assert (found.missing, found.absent, found.exempt, found.deferred, found.cheated) == (1, 1, 1, 1, 1)
    assert found.expected == 5 and found.sat == 4  # 90, 80, 50 and the cheat's zero; the absentee expected
    assert found.mean == 55.0 and found.median == 65.0 and (found.high, found.low) == (90.0, 0.0)
    assert found.pass_rate == 0.5 and found.excellent_rate == 0.25
    assert found.bands == {"A": 1, "B": 1, "C": 0, "D": 2}
    assert found.std == 35.0  # the population deviation: sqrt((35² + 25² + 55² + 5²) / 4)


def test_ranks_are_competition_ranks_and_incomplete_totals_are_not_ranked():
    assert stats.ranks({"a": 180, "b": 190, "c": 180, "d": None, "e": 170}) == {"b": 1, "a": 2, "c": 2, "e": 4}
    setups = {"01": SCORE, "02": SCORE, "12": marks.setup_for(codes.LEVEL)}
    assert stats.total({"01": 900, "02": 855, "12": 0}, setups) == 175.5
    assert stats.total({"01": 900, "02": BLANK}, setups) is None
    assert stats.total({"01": 900, "02": CODE_VALUES[codes.CHEATED]}, setups) == 90.0


def test_term_result_weighs_exams_rescales_for_exempt_and_waits_for_a_make_up():
    final = marks.setup_for(codes.SCORE, 150)
    assert stats.term_result([(800, SCORE, 0.4), (1200, final, 0.6)]) == 80.0
    assert stats.term_result([(CODE_VALUES[codes.EXEMPT], SCORE, 0.4), (1200, final, 0.6)]) == 80.0
    assert stats.term_result([(CODE_VALUES[codes.ABSENT], SCORE, 0.4), (1200, final, 0.6)]) == stats.PENDING
    assert stats.term_result([(BLANK, SCORE, 0.4)]) is None
    assert stats.term_result([(855, SCORE, 1), (854, SCORE, 1)]) == 85.5  # 85.45 rounds half up once, at the end


# -- entering a column ------------------------------------------------------------------------

def _keys(w):
    return w["first"].__name__, w["second"].__name__


def test_the_assigned_teacher_enters_a_column_and_nobody_else_enters_it(world):
    first, second = _keys(world)
    assert security.local_roles_of(world["klass"], world["teacher"].userid) == ("teacher",)
    assert entry.save(world["exam"], world["klass"], "02", {first: "95", second: "缺考"}, world["teacher"]) == (2, 0)
    sheet = books.sheet_of(world["exam"], world["klass"])
    assert sheet.value("02", first) == 950 and sheet.value("02", second) == CODE_VALUES[codes.ABSENT]
    assert books.sheets_of_pupil(world["site"], first) == [sheet]
    with pytest.raises(entry.EntryError) as refused:
        entry.save(world["exam"], world["klass"], "02", {first: "60"}, world["other"], reason="x")
    assert "任课教师" in refused.value.args[0].interpolate()
    assert sheet.value("02", first) == 950
    # the principal (academic office) may enter any subject
    assert entry.save(world["exam"], world["klass"], "01", {first: "88"}, world["principal"]) == (1, 0)


def test_bad_cells_and_strangers_change_nothing(world):
    first, second = _keys(world)
    stranger = world["pupil_b"].__name__
    with pytest.raises(entry.CellErrors) as refused:
        entry.save(world["exam"], world["klass"], "02", {first: "95", second: "120", stranger: "70"},
                   world["teacher"])
    assert set(refused.value.errors) == {second, stranger}
    assert books.sheet_of(world["exam"], world["klass"]) is None


def test_a_stale_grid_is_refused_with_the_cells_changed_meanwhile(world):
    first, second = _keys(world)
    entry.save(world["exam"], world["klass"], "02", {first: "70", second: "80"}, world["teacher"])
    sheet = books.sheet_of(world["exam"], world["klass"])
    loaded_version = sheet.version("02")
    entry.save(world["exam"], world["klass"], "02", {first: "75"}, world["principal"], reason="复核")
    with pytest.raises(entry.StaleGrid) as refused:
        entry.save(world["exam"], world["klass"], "02", {first: "71", second: "81"}, world["teacher"],
                   base_version=loaded_version, loaded={first: "70", second: "80"}, reason="改")
    assert refused.value.cells == {first: "75"}
    assert sheet.value("02", first) == 750 and sheet.value("02", second) == 800


def test_changing_an_earlier_mark_needs_a_reason_and_enters_the_pupils_history(world):
    first, _second = _keys(world)
    entry.save(world["exam"], world["klass"], "02", {first: "70"}, world["teacher"])
    with pytest.raises(entry.EntryError) as refused:
        entry.save(world["exam"], world["klass"], "02", {first: "72"}, world["teacher"])
    assert "原因" in refused.value.args[0].interpolate()
    entry.save(world["exam"], world["klass"], "02", {first: "72"}, world["teacher"], reason="看错分数")
    [(when, userid, login, kind, changes, note)] = [e for e in history.entries(world["first"]) if e[3] == "grades"]
    assert (userid, kind, note) == (world["teacher"].userid, "grades", "看错分数")
    assert changes == (("期中考试·数学", "70", "72"),)


def test_a_locked_mark_changes_only_through_the_principals_approval(world):
    first, _second = _keys(world)
    entry.save(world["exam"], world["klass"], "02", {first: "70"}, world["teacher"])
    entry.submit(world["exam"], world["klass"], "02", world["teacher"])
    with pytest.raises(entry.EntryError):
        entry.save(world["exam"], world["klass"], "02", {first: "90"}, world["teacher"], reason="改")
    request = corrections.request_correction(world["exam"], world["klass"], "02", world["first"], "90",
                                             "登分时看错行", world["teacher"], world["registry"])
    sheet = books.sheet_of(world["exam"], world["klass"])
    assert sheet.value("02", first) == 700  # waits for the decision
    with pytest.raises(chain.ChainError):
        chain.decide(world["site"], request, world["teacher"], True, registry=world["registry"])  # not their own
    chain.decide(world["site"], request, world["principal"], True, registry=world["registry"])
    assert request.state == chain.APPROVED and sheet.value("02", first) == 900
    kinds = [e[3] for e in history.entries(world["first"])]
    assert "grades-correction" in kinds and "grades-correction-requested" in kinds
    [applied] = [e for e in history.entries(world["first"]) if e[3] == "grades-correction"]
    assert applied[4] == (("期中考试·数学", "70", "90"),) and "登分时看错行" in applied[5]


# -- the family view --------------------------------------------------------------------------

def test_families_never_see_a_rank_in_compulsory_education(world):
    school = world["school_a"]
    school.grade_options = {"scores": True, "ranks": True}
    for stage in (codes.PRIMARY, codes.JUNIOR):
        seen = policy.family_sight(world["registry"], school, stage)
        assert seen.levels and seen.scores and not seen.rank and not seen.others
    assert policy.family_sight(world["registry"], school, codes.SENIOR).rank
    school.grade_options = {}
    assert not policy.family_sight(world["registry"], school, codes.SENIOR).rank
    assert not policy.family_sight(world["registry"], school, codes.JUNIOR).scores


@pytest.mark.parametrize("stage", [codes.PRIMARY, codes.JUNIOR])
def test_a_setting_that_would_rank_compulsory_pupils_is_refused(stage):
    with pytest.raises(ValueError) as refused:
        policy.ceiling_parser(stage)("ranks")
    assert "34号" in str(refused.value)
    assert policy.ceiling_parser(codes.SENIOR)("ranks") == policy.RANKS


# -- figures of a scope ---------------------------------------------------------------------

def test_a_school_and_its_county_are_analysed_from_the_sheets(world):
    from pyramid.traversal import resource_path
    from xueji_site.grades import analysis
    first, second = _keys(world)
    entry.save(world["exam"], world["klass"], "02", {first: "90", second: "缺考"}, world["teacher"])
    entry.save(world["exam"], world["klass"], "01", {first: "80", second: "60"}, world["other"])
    school = world["school_a"]
    found = analysis.analyse(world["exam"], school, resource_path(school))
    maths = found.subjects["02"]
    assert (maths.expected, maths.sat, maths.absent, maths.mean) == (2, 1, 1, 90.0)
    assert found.scores["01"] == [60.0, 80.0]
    assert list(found.units) == [resource_path(world["klass"])]
    county = analysis.analyse(world["exam"], world["county_a"], resource_path(world["county_a"]))
    assert list(county.units) == [resource_path(school)] and county.subjects["01"].mean == 70.0
    elsewhere = analysis.analyse(world["exam"], world["county_b"], resource_path(world["county_b"]))
    assert elsewhere.subjects["01"].sat == 0 and not elsewhere.units
    sheet = books.sheet_of(world["exam"], world["klass"])
    assert analysis.class_ranks(sheet, {"01": SCORE}) == {first: 1, second: 2}
    assert analysis.completion(world["exam"], school)[(resource_path(world["klass"]), "02")] == (2, 2, False)


# -- a pupil's results as each viewer sees them -------------------------------------------------

def test_a_guardian_sees_levels_and_bands_and_staff_see_scores_and_the_rank(world):
    from xueji_site.grades import results
    first, second = _keys(world)
    entry.save(world["exam"], world["klass"], "02", {first: "90", second: "70"}, world["teacher"])
    entry.save(world["exam"], world["klass"], "01", {first: "80", second: "95"}, world["other"])
    final = books.add_exam(world["site"], world["school_a"], "期末考试", codes.FINAL, TERM, (3,),
                           {"02": marks.setup_for(codes.SCORE, 150)}, weight=2.0)
    entry.save(final, world["klass"], "02", {first: "缺考", second: "120"}, world["teacher"])
    family = policy.family_sight(world["registry"], world["school_a"], codes.PRIMARY)
    [midterm, end] = results.pupil_results(world["site"], world["first"], family, TERM)
    maths = [s for s in midterm.subjects if s.subject == "02"][0]
    assert (maths.level, maths.shown, maths.bands["A"], maths.bands["C"]) == ("A", "", 1, 1)
    assert midterm.rank is None and midterm.total is None and maths.class_mean is None
    staff = results.pupil_results(world["site"], world["first"], policy.STAFF, TERM)[0]
    assert [s.shown for s in staff.subjects if s.subject == "02"] == ["90"]
    assert (staff.total, staff.rank, staff.ranked_of) == (170.0, 1, 2)  # 80 + 90 against 95 + 70
    assert results.term_results(world["site"], world["first"], TERM)["02"] == stats.PENDING
    assert results.term_results(world["site"], world["second"], TERM)["02"] == 76.7  # (70·1 + 80·2) / 3
    assert results.pupil_results(world["site"], world["first"], policy.NOTHING, TERM) == []


def test_a_class_analysed_alone_reads_its_own_sheet(world):
    from pyramid.traversal import resource_path
    from xueji_site.grades import analysis
    first, second = _keys(world)
    entry.save(world["exam"], world["klass"], "01", {first: "80", second: "60"}, world["other"])
    assert books.sheets_under(world["exam"], world["klass"]) == [books.sheet_of(world["exam"], world["klass"])]
    found = analysis.analyse(world["exam"], world["klass"], resource_path(world["klass"]), depth=0)
    assert found.subjects["01"].mean == 70.0


def test_a_class_sits_the_exams_of_its_school_and_bureaus_for_its_grade(world):
    county_exam = books.add_exam(world["site"], world["county_a"], "区统考", codes.FINAL, TERM, (3,),
                                 {"02": SCORE})
    other_grade = books.add_exam(world["site"], world["school_a"], "四年级期中", codes.MIDTERM, TERM, (4,),
                                 {"02": SCORE})
    next_term = books.add_exam(world["site"], world["school_a"], "下学期期中", codes.MIDTERM, "2026-2", (3,),
                               {"02": SCORE})
    assert books.exams_for_class(world["klass"], TERM, 3) == [world["exam"], county_exam]
    assert books.exams_for_class(world["class_b"], TERM, 3) == []  # another county's class
    assert {e.id for e in books.exams_in_scope(world["site"], world["county_a"], TERM)} == {
        world["exam"].id, county_exam.id, other_grade.id}
    assert books.exams_at(world["site"], world["school_a"], "2026-2") == [next_term]
    entry.save(county_exam, world["klass"], "02", {world["first"].__name__: "60"}, world["teacher"])
    with pytest.raises(ValueError):
        books.remove_exam(world["site"], county_exam)  # it has marks
    books.remove_exam(world["site"], other_grade)
    assert books.get_exam(world["site"], other_grade.id) is None
    assert other_grade not in books.exams_in_scope(world["site"], world["school_a"], TERM)


def test_terms_follow_the_school_year():
    import datetime
    assert [codes.term_of(datetime.date(2026, m, 1)) for m in (9, 12, 1, 2, 7)] == [
        "2026-1", "2026-1", "2025-1", "2025-2", "2025-2"]
    assert codes.terms_around(datetime.date(2026, 10, 1), back=2) == ["2026-1", "2025-2", "2025-1"]
    assert codes.term_label("2026-2").interpolate() == "2026—2027学年第二学期"
    with pytest.raises(ValueError):
        codes.parse_term("2026-3")
    assert codes.stage_of_grade(6) == codes.PRIMARY and codes.stage_of_grade(10) == codes.SENIOR
