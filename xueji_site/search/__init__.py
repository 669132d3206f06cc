"""Search and statistics: the indexes they query, keyword and condition search, reports."""


def includeme(config):
    config.include("xueji_site.search.indexes")
