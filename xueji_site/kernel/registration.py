"""The kernel package's registrations (its ``includeme``): see the package's docstring."""
from pyramid.authorization import Authenticated

from xueji_site.kernel import permissions as P
from xueji_site.kernel.i18n import _
from xueji_site.kernel.nodes import Site
from xueji_site.kernel.security import AUDITOR, SECURITY_ADMIN, SYSADMIN


def includeme(config):
    config.include("xueji_site.kernel.settings")
    config.include("xueji_site.kernel.registry")
    config.include("xueji_site.kernel.security")
    config.include("xueji_site.kernel.catalog")
    config.include("xueji_site.kernel.evolve")
    config.include("xueji_site.kernel.chain")
    config.include("xueji_site.kernel.audit")
    config.include("xueji_site.kernel.history")
    config.include("xueji_site.kernel.mail")
    config.add_content_type(
        "Site", Site, title=_("全国"), catalogued=False,
        permissions={
            SYSADMIN: {P.VIEW, P.ADD, P.EDIT, P.SHARE, P.MANAGE_USERS},
            SECURITY_ADMIN: {P.VIEW, P.SHARE, P.MANAGE_USERS},
            AUDITOR: {P.AUDIT},
        },
        acl_extra=(("Allow", Authenticated, (P.ACCOUNT,)),))
