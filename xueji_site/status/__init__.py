"""Status changes (学籍异动): the kinds, their rules and their approval chains."""


def includeme(config):
    config.include("xueji_site.status.registration")
