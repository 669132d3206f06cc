"""xueji-reindex: rebuild the catalog from ``site.docmap`` (no walk of the tree).

Without --scope every index is emptied and every document indexed again,
so entries of vanished documents go too. With --scope PATH only the
documents of that subtree (found through the ``ancestors`` index) are
reindexed. Commits every --batch documents; a progress bar goes to stderr.
"""
import sys

from pyramid.traversal import resource_path
from tqdm import tqdm

from xueji_site.kernel import catalog, evolve
from xueji_site.scripts import common


def parse(argv):
    parser = common.make_parser("xueji-reindex", __doc__.splitlines()[0])
    parser.add_argument("--scope", metavar="PATH", help="reindex only this subtree, e.g. /330000/330100")
    parser.add_argument("--batch", type=int, default=1000, help="documents per commit (default 1000)")
    args = parser.parse_args(argv)
    if args.batch < 1:
        raise common.ScriptError("--batch must be at least 1")
    return args


def _docids(site, scope):
    if not scope:
        return list(site.docmap.keys())
    node = common.resolve_path(site, scope)
    return list(site.catalog["ancestors"].applyEq(resource_path(node)))


def _main(argv):
    args = parse(argv)
    uri = common.config_uri(args.config)
    common.require_initialised(common.app_settings(uri))
    with common.open_app(uri) as env, common.site_transaction(env, "xueji-reindex") as (_conn, site):
        catalog.add_missing_indexes(site, env.registry)
        docids = _docids(site, args.scope)
        indexes = list(site.catalog.values())
        if not args.scope:
            for index in indexes:
                index.reset()
        with tqdm(total=len(docids), unit="doc", file=sys.stderr, desc="reindex") as bar:
            done = evolve.reindex(site, indexes, batch=args.batch, docids=docids, progress=bar.update)
    print("reindexed %d documents / 已重建索引 %d 条" % (done, done))


def main(argv=None):
    return common.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
