"""A pupil's record: the Student and FamilyMember types, the guardian role, the
record's field inventory, and the facts every consumer reads from them."""


def includeme(config):
    config.include("xueji_site.record.registration")
