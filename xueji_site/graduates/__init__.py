"""Graduates: graduation, certificates and their verification, the read-only
archive of graduates, their destinations, and retention."""


def includeme(config):
    config.include("xueji_site.graduates.registration")
