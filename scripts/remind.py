"""xueji-remind CONFIG [--dry-run]: e-mail the approvers of every overdue status change.

Run it daily (cron or a systemd timer). Each overdue step is reminded at most
once a day; the mail leaves only when the run commits.
"""
import datetime

from pyramid.request import Request
from pyramid_mailer import get_mailer

from xueji_site.kernel import mail
from . import common


def parse_args(argv):
    parser = common.make_parser("xueji-remind", __doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="list what is overdue; send nothing")
    return parser.parse_args(argv)


def main_(argv):
    args = parse_args(argv)
    uri = common.config_uri(args.config)
    common.require_initialised(common.app_settings(uri))
    today = datetime.date.today()
    with common.open_app(uri) as env:
        request = Request.blank("/")
        request.registry = env.registry
        translate = request.localizer.translate
        sender = env.settings.get("mail.default_sender", "xueji@localhost")
        with common.site_transaction(env, "xueji-remind") as (conn, site):
            mailer = get_mailer(env.registry).bind(transaction_manager=conn.transaction_manager)
            told = 0
            for student, change in mail.overdue_changes(site, today):
                if getattr(change, "reminded_on", None) == today:
                    continue
                print("overdue: %s %s (due %s)" % (student.__name__, change.kind, change.due().isoformat()))
                if not args.dry_run:
                    told += mail.announce(mailer, translate, site, change, student, sender, overdue=True)
                    change.reminded_on = today
            if args.dry_run:
                conn.transaction_manager.abort()
                conn.transaction_manager.begin()
    print("reminded %d approver(s)%s" % (told, " (dry run)" if args.dry_run else ""))
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
