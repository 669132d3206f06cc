"""A throw-away record type under a pupil, registered from this test package alone:
a class, a schema and one registration each, with no change to any kernel file.

``Remark`` is a sub-record collection (many per pupil, time-ordered); ``Badge``
a plain child of the pupil. Both hold pupils' personal data, enter the pupil's
history, and follow the graduate into the archive.
"""
import colander
from xueji_site.kernel import inventory, permissions as P
from xueji_site.kernel.nodes import Leaf
from xueji_site.kernel.security import PRINCIPAL, SCHOOL_REGISTRAR
from xueji_site.kernel.subrecords import SubRecord
from xueji_site.schemas.base import FormSchema, Stripped


class Remark(SubRecord):
    content_type = "Remark"
    topic = ""
    detail = ""


class Badge(Leaf):
    content_type = "Badge"
    name = ""
    awarded_by = ""

    @property
    def title(self):
        return self.name


def remark_schema(request, context, adding):
    class RemarkSchema(FormSchema):
        topic = colander.SchemaNode(Stripped(), title="话题", validator=colander.Length(1, 40))
        detail = colander.SchemaNode(Stripped(), title="详情", validator=colander.Length(1, 200))
    return RemarkSchema()


def badge_schema(request, context, adding):
    class BadgeSchema(FormSchema):
        name = colander.SchemaNode(Stripped(), title="徽章", validator=colander.Length(1, 40))
        awarded_by = colander.SchemaNode(Stripped(), title="颁发人", validator=colander.Length(1, 40))
    return BadgeSchema()


RECORD_KEEPERS = {SCHOOL_REGISTRAR: P.RECORD_FULL | {P.ADD, P.EDIT, P.DELETE}, PRINCIPAL: P.RECORD_FULL}


def _badge_key(appstruct, parent):
    return "b%04d" % (len(parent) + 1)


def includeme(config):
    config.add_content_type(
        "Remark", Remark, title="评语", schema="tests.throwaway:remark_schema", add_to=("Student",),
        collection=True, columns=(("topic", "话题"), ("detail", "详情")),
        sensitive=("detail",), personal=True, history=True, archive=True, section=(50, None),
        inventory=inventory.uses(inventory.STATUTORY, "enrolment", inventory.ARCHIVE, "topic", "detail"),
        inventory_title="评语", permissions=RECORD_KEEPERS)
    config.add_content_type(
        "Badge", Badge, title="徽章", schema="tests.throwaway:badge_schema", add_to=("Student",),
        key=_badge_key, columns=(("name", "徽章"), ("awarded_by", "颁发人")),
        personal=True, history=True, archive=True, section=(60, None),
        inventory=inventory.uses(inventory.STATUTORY, "enrolment", inventory.ARCHIVE, "name", "awarded_by"),
        inventory_title="徽章", permissions=RECORD_KEEPERS)
