"""Views: generic add/edit/view/contents from the content registry, login,
sharing, the audit log, and error pages."""
from xueji_site import types  # noqa: F401  (registers the content types)


def includeme(config):
    config.add_static_view("static", "xueji_site:static", cache_max_age=3600)
    config.add_static_view("static-deform", "deform:static", cache_max_age=3600)
    config.include(".layout")
    config.include(".derivers")
    config.include(".headers")
    config.scan(".generic")
    config.scan(".photos")
    config.scan(".batch")
    config.scan(".workflow")
    config.scan(".duplicates")
    config.scan(".auth")
    config.scan(".sharing")
    config.scan(".auditlog")
    config.scan(".accounts")
    config.scan(".errors")
    config.scan(".language")
    config.scan(".search")
    config.scan(".reports")
    config.include(".importing")  # issue 3: batch import
    config.include(".api")  # issue 3: JSON API
    config.scan(".tokens")  # issue 3: API tokens page
