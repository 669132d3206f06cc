"""The house's shape, read from the imports (ast, nothing is run):

* the packages of ``xueji_site`` stand on floors, and a module imports only from
  its own package or from lower floors: the kernel knows no feature, features
  know the kernel and the features below them, nothing in the core imports
  views, schemas or scripts;
* no function-local import of the project's own modules (they hid loops);
* no circle among the core's modules.
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORE = ROOT / "xueji_site"
# floor of each package of the core; a package imports from floors at or below its own
FLOORS = {"kernel": 0, "standards": 1, "tree": 2, "record": 3, "status": 4, "exports": 4,
          "graduates": 5, "search": 6, "imports": 6, "grades": 4}
ABOVE_THE_CORE = ("views", "schemas", "scripts")
OUTSIDE = {"views": ROOT / "views", "schemas": ROOT / "schemas", "scripts": ROOT / "scripts"}


def _module_name(path):
    if path.is_relative_to(CORE):
        parts = ["xueji_site"] + list(path.relative_to(CORE).with_suffix("").parts)
    else:
        top = path.relative_to(ROOT).parts[0]
        parts = ["xueji_site", top] + list(path.relative_to(ROOT / top).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """(imported module name, line, at module level) of every intra-project import."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = base + ("." + node.module if node.module else "")
            else:
                module = node.module or ""
            targets = [module] + [module + "." + alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if target.startswith("xueji_site"):
                found.append((target, node.lineno, id(node) in top_level))
    return found


def _python_files(where):
    return sorted(p for p in where.rglob("*.py") if "locale" not in p.parts)


def _package_of(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_package_of_the_core_has_a_floor():
    packages = {p.name for p in CORE.iterdir() if (p / "__init__.py").exists()}
    assert packages - {"static", "data", "locale"} == set(FLOORS)


def test_each_module_imports_only_its_own_package_or_lower_floors():
    wrong = []
    for path in _python_files(CORE):
        own = _package_of(_module_name(path))
        for target, line, _top in _imports(path):
            other = _package_of(target)
            if other in ABOVE_THE_CORE:
                wrong.append("%s:%d imports %s (the core never imports %s)" % (path.relative_to(ROOT), line,
                                                                               target, other))
            elif own in FLOORS and other in FLOORS and other != own and FLOORS[other] > FLOORS[own]:
                wrong.append("%s:%d imports %s, a higher floor" % (path.relative_to(ROOT), line, target))
    assert wrong == []


def test_schemas_and_scripts_never_import_views():
    wrong = ["%s:%d %s" % (path.relative_to(ROOT), line, target)
             for top in ("schemas", "scripts") for path in _python_files(OUTSIDE[top])
             for target, line, _top in _imports(path) if _package_of(target) == "views"]
    assert wrong == []


def test_no_function_local_intra_project_imports():
    wrong = ["%s:%d %s" % (path.relative_to(ROOT), line, target)
             for where in [CORE] + list(OUTSIDE.values()) for path in _python_files(where)
             for target, line, top in _imports(path) if not top]
    assert wrong == []


def _core_graph():
    modules = {_module_name(path): path for path in _python_files(CORE)}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for target, _line, _top in _imports(path):
            # "from xueji_site.kernel import audit": the module audit, else the package
            found = target if target in modules else target.rsplit(".", 1)[0]
            if found in modules and found != name:
                edges.add(found)
        graph[name] = edges
    return graph


def _circles(graph):
    """Tarjan's strongly connected components of more than one module."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_among_the_cores_modules():
    graph = _core_graph()
    assert len(graph) > 60
    assert _circles(graph) == []


def test_the_circle_finder_finds_circles():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_permissions_are_named_never_spelled():
    """Permissions are kernel/permissions.py's names: no check spells one as a string."""
    import re
    call = re.compile(r"""(has_permission|permits|layout\.can)\(\s*(?:[\w.]+\s*,\s*)?["'][a-z-]+["']""")
    wrong = []
    for where in [CORE, ROOT / "views", ROOT / "schemas", ROOT / "scripts"]:
        for path in list(where.rglob("*.py")) + list(where.rglob("*.pt")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if call.search(line):
                    wrong.append("%s:%d" % (path.relative_to(ROOT), number))
    assert wrong == []
