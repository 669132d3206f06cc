"""Views: generic add/edit/view/contents from the content registry, login,
sharing, the audit log, and error pages."""


def includeme(config):
    config.add_static_view("static", "xueji_site:static", cache_max_age=3600)
    config.add_static_view("static-deform", "deform:static", cache_max_age=3600)
    config.include(".layout")
    config.include(".derivers")
    config.include(".headers")
    config.include(".badbytes")  # 400 for bytes that are not UTF-8, before anything decodes them
    config.scan(".generic")
    config.scan(".photos")
    config.scan(".batch")
    config.scan(".workflow")
    config.scan(".duplicates")
    config.scan(".record_removal")  # issue 12: a sysadmin's deletion of an entry made in error
    config.scan(".auth")
    config.scan(".sharing")
    config.scan(".auditlog")
    config.scan(".alerts")
    config.scan(".approvals")
    config.scan(".todo")
    config.scan(".accounts")
    config.scan(".contact")  # issue 12: e-mail and phone of accounts
    config.scan(".places")  # issue 12: the place picker's list of divisions
    config.scan(".errors")
    config.scan(".language")
    config.scan(".totp")
    config.scan(".breakglass")
    config.scan(".diskguard")
    config.scan(".privacy")
    config.scan(".reauth")
    config.scan(".sealer")
    config.scan(".search")
    config.scan(".reports")
    config.include(".importing")  # issue 3: batch import (helper)
    config.include(".api")  # issue 3: JSON API (helper)
    config.scan(".tokens")  # issue 3: API tokens page (helper)
    config.scan(".graduation")  # issue 5: graduation (helper)
    config.scan(".verify")  # issue 5: public certificate verification (helper)
    config.include(".archive")  # issue 5: archive of graduates, destinations, codes (helper)
    config.scan(".grades_pages")  # issue 13: grades — exams, the class's subjects
    config.scan(".grades_entry")  # issue 13: the marks grid, submitting, corrections, the class's sheet
    config.scan(".grades_analysis")  # issue 13: an exam's figures, compared, charted, exported
    config.scan(".grades_teachers")  # issue 13: teaching assignments
    config.include(".grades_import")  # issue 13: a whole exam's marks in and out of a spreadsheet
    config.scan(".grades_pupil")  # issue 13: a pupil's results, trend, single entry, correction decisions
    config.scan(".grades_cards")  # issue 13: report cards (成绩单), a pupil's and a class's
