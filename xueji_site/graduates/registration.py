"""The graduates package's registrations (its ``includeme``): see the package's docstring."""
from xueji_site.graduates.archive import Archive, ArchivedGraduate
from xueji_site.graduates.graduation import GRADUATION_PROCESS
from xueji_site.graduates.retention import DEFAULT_YEARS
from xueji_site.kernel.settings import Setting, text, whole
from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.security import (
    BUREAU_ADMIN, GUARDIAN, PRINCIPAL, SCHOOL_REGISTRAR, SECURITY_ADMIN, SYSADMIN)

GRADUATE_MAC_FIELDS = (
    "__name__", "name", "former_name", "gender", "birth_date", "ethnicity", "nationality",
    "id_type", "outcome", "year", "left_on", "cohort", "class_key", "school_code", "school_name",
    "status_history", "archived_at", "retained_until", "id_blind",
    "_sealed_id_number", "_sealed_registry_no", "_sealed_certificate",
)


def includeme(config):
    config.add_approval_process(GRADUATION_PROCESS)
    config.add_setting(Setting("xueji.retention_years", whole(1), DEFAULT_YEARS,
                               "years after leaving that an archived graduate keeps its sensitive fields"))
    config.add_setting(Setting("xueji.verify_rate", text, "100/minute",
                               "public certificate look-ups per client address (limits' notation)"))
    config.add_setting(Setting("xueji.verify_captcha_after", whole(0), 10,
                               "look-ups per address per hour before a picture challenge"))
    # A school's archive of graduates: read-only for everyone — no add, edit,
    # delete or share — but destinations may be tracked and holders may issue
    # verification codes. Set on each Archive through set_acl (archive.py).
    config.add_content_type(
        "Archive", Archive, title=_("毕业生档案"), catalogued=False,
        permissions={
            SYSADMIN: {P.VIEW, P.VIEW_RECORD},
            SECURITY_ADMIN: {P.VIEW},
            BUREAU_ADMIN: P.RECORD_FULL | {P.TRACK_GRADUATES},
            PRINCIPAL: P.RECORD_FULL | {P.TRACK_GRADUATES, P.ISSUE_CODE},
            SCHOOL_REGISTRAR: P.RECORD_FULL | {P.TRACK_GRADUATES, P.ISSUE_CODE},
            GUARDIAN: {P.VIEW_RECORD, P.VIEW_SENSITIVE, P.ISSUE_CODE},
        })
    # A frozen graduate: the archive's ACL applies; its core fields are under a MAC.
    config.add_content_type(
        "ArchivedGraduate", ArchivedGraduate, title=_("毕业生"), catalogued=False,
        mac_fields=GRADUATE_MAC_FIELDS)
    config.include("xueji_site.graduates.steps")
