"""Exports of pupils' data: the approval rule (G3, G4) and its process on the approval chain."""


def includeme(config):
    config.include("xueji_site.exports.registration")
