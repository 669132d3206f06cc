"""xueji-remind CONFIG [--dry-run]: e-mail the approvers of every overdue request, and the
schools of pupils whose 休学 has ended.

Every process on the approval chain (status changes, key-field changes,
export approvals, graduation) has working-day deadlines per step. Run this
daily (cron or a systemd timer): each overdue step is reminded at most once
a day, its ApprovalOverdue event is audited, and the mail leaves only when
the run commits. A pupil still suspended after the end of an approved 休学 is
reminded to whoever may start a status change at the school, once a day
(status/resumption.py).
"""
import datetime

from pyramid.request import Request
from pyramid_mailer import get_mailer

from xueji_site.kernel import chain, events, mail
from xueji_site.status import resumption
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
            for change in chain.open_requests(site):
                if not change.overdue(today, env.registry) or getattr(change, "reminded_on", None) == today:
                    continue
                print("overdue: %s %s (due %s)" % (change.id, change.process, change.due(env.registry).isoformat()))
                if not args.dry_run:
                    events.notify(events.ApprovalOverdue(change), env.registry)
                    told += mail.announce(mailer, translate, site, change, sender, overdue=True,
                                          registry=env.registry)
                    change.reminded_on = today
            pupils, schools_told = resumption.remind(site, mailer, translate, sender, today, env.registry,
                                                     dry_run=args.dry_run)
            print("suspensions ended, not resumed: %d pupil(s)" % pupils)
            told += schools_told
            if args.dry_run:
                conn.transaction_manager.abort()
                conn.transaction_manager.begin()
    print("reminded %d person(s)%s" % (told, " (dry run)" if args.dry_run else ""))
    return 0


def main(argv=None):
    return common.run(main_, argv)


if __name__ == "__main__":
    raise SystemExit(main())
