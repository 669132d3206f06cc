"""The tree of bureaus, schools and classes: its types, their roles and permissions."""


def includeme(config):
    config.include("xueji_site.tree.registration")
