"""Where an ini file's ``[server:main]`` (waitress) will listen, for bin/demo to print.

    python -m xueji_site.scripts.serverinfo development.ini   →   http://127.0.0.1:6543

waitress reads ``listen`` (one or more ``host:port``, ``*:port``, ``[::1]:port``,
separated by white space) or else ``host`` and ``port``; its defaults are
0.0.0.0 and 8080. A wildcard host listens on every interface: the address shown
for a browser is then the loopback one.
"""
import configparser
import os
import sys

DEFAULT_HOST, DEFAULT_PORT = "0.0.0.0", 8080
WILDCARDS = ("", "*", "0.0.0.0", "::", "[::]")


def _split(entry):
    """(host, port) of one ``listen`` entry."""
    entry = entry.strip()
    if entry.startswith("["):  # [v6]:port
        host, _, rest = entry[1:].partition("]")
        port = rest.lstrip(":")
        return host, int(port) if port else DEFAULT_PORT
    if entry.count(":") > 1:  # a bare IPv6 address, no port
        return entry, DEFAULT_PORT
    host, sep, port = entry.rpartition(":")
    if not sep:
        return entry, DEFAULT_PORT
    return host, int(port)


def listen_addresses(path, section="server:main"):
    """[(host, port), …] that ``section`` of the ini file ``path`` makes waitress listen on."""
    parser = configparser.ConfigParser(defaults={"here": os.path.dirname(os.path.abspath(path)),
                                                 "__file__": os.path.abspath(path)})
    if not parser.read(path, encoding="utf-8"):
        raise FileNotFoundError(path)
    if not parser.has_section(section):
        raise KeyError(section)
    server = parser[section]
    if server.get("listen", "").strip():
        return [_split(entry) for entry in server["listen"].split()]
    return [(server.get("host", DEFAULT_HOST).strip(), int(server.get("port", DEFAULT_PORT)))]


def browser_url(host, port):
    """The URL to open for a listener: loopback for a wildcard, brackets for IPv6."""
    if host in WILDCARDS:
        host = "127.0.0.1"
    if ":" in host:
        host = "[%s]" % host
    return "http://%s:%d" % (host, port)


def describe(path):
    """One line per listener: the URL, and a note for a wildcard address."""
    lines = []
    for host, port in listen_addresses(path):
        note = "  (listening on all interfaces: %s)" % (host or "*") if host in WILDCARDS else ""
        lines.append(browser_url(host, port) + note)
    return lines


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        print("usage: python -m xueji_site.scripts.serverinfo CONFIG", file=sys.stderr)
        return 2
    try:
        lines = describe(args[0])
    except FileNotFoundError:
        print("error / 错误: config file not found / 找不到配置文件: %s" % args[0], file=sys.stderr)
        return 3
    except (KeyError, ValueError, configparser.Error) as exc:
        print("error / 错误: cannot read [server:main] of %s: %s" % (args[0], exc), file=sys.stderr)
        return 3
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
