"""xueji-serve CONFIG: run the ini file's [server:main] (waitress) with pserve.

The same as ``pserve CONFIG``; options such as --reload pass through.
"""
import sys


def main(argv=None):
    from pyramid.scripts.pserve import main as pserve
    args = sys.argv[1:] if argv is None else list(argv)
    return pserve(["xueji-serve"] + args)


if __name__ == "__main__":
    raise SystemExit(main())
