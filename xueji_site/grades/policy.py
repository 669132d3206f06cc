"""Who sees what of a pupil's results: the one place the ranking rules are enforced.

教育部办公厅《关于加强义务教育学校考试管理的通知》(教基厅函〔2021〕34号): in
compulsory education results are told to each family privately, as levels;
pupils are not ranked and results are not published. Senior high is outside
the notice. So:

- staff who may read a class's grades (``read-grades``: head teacher,
  academic office, principal, bureaus in their scope) see scores and ranks;
- a guardian (``own-grades`` on their child) sees their own child's levels,
  the score where the stage allows it and the school turned it on, a rank only
  where the stage allows ranks (``ranks``: senior high alone may) and the school
  turned it on, and the class as bands — never another pupil's result;
- anyone else sees nothing.

The stage's ceiling is a setting (``xueji.grades.families.<stage>``: levels,
scores or ranks); the school's choice is ``school.grade_options``.
"""
from dataclasses import dataclass

from xueji_site.grades import codes
from xueji_site.kernel import permissions as P
from xueji_site.kernel import settings as xueji_settings

LEVELS_ONLY, SCORES, RANKS = "levels", "scores", "ranks"
CEILINGS = (LEVELS_ONLY, SCORES, RANKS)
SETTING = "xueji.grades.families."


@dataclass(frozen=True)
class Sight:
    allowed: bool = False   # sees this pupil's results at all
    levels: bool = False
    scores: bool = False
    rank: bool = False
    others: bool = False    # other pupils' results (staff)
    staff: bool = False


NOTHING = Sight()
STAFF = Sight(True, True, True, True, True, True)


def ceiling_parser(stage):
    def parse(text):
        value = str(text).strip().lower()
        if value not in CEILINGS:
            raise ValueError("one of levels, scores, ranks")
        if value == RANKS and stage in (codes.PRIMARY, codes.JUNIOR):
            raise ValueError("pupils in compulsory education are not ranked (教基厅函〔2021〕34号)")
        return value
    return parse


def school_options(school):
    options = getattr(school, "grade_options", None) or {}
    return {"scores": bool(options.get("scores")), "ranks": bool(options.get("ranks"))}


def family_sight(registry, school, stage):
    """What a guardian sees of their child's results in a school of ``stage``."""
    ceiling = xueji_settings.value(registry, SETTING + (stage or codes.PRIMARY))
    chosen = school_options(school)
    scores = ceiling in (SCORES, RANKS) and chosen["scores"]
    rank = ceiling == RANKS and chosen["ranks"]
    return Sight(allowed=True, levels=True, scores=scores or rank, rank=rank)


def sight(request, pupil, stage):
    """What the request's user sees of ``pupil``'s results (in ``stage``)."""
    klass = pupil.__parent__
    if request.has_permission(P.READ_GRADES, klass):
        return STAFF
    if request.has_permission(P.OWN_GRADES, pupil):
        return family_sight(request.registry, klass.__parent__, stage)
    return NOTHING
