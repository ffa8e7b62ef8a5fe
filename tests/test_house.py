"""The house check: rooms a newcomer can find by name, well-kept libraries under them, and code a
contributor can follow with only this repository.

Each check is a function over a source text or a folder, run here over the real tree; each is also run
on a planted violation (the `test_the_checks_catch` cases), so a check that stopped looking would show.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CCM = ROOT / "ccm"

#: The proxy's rooms: every one a package under ccm/.
ROOMS = {
    "serve": "the serving process: entry, Hypercorn and the one module that changes it, the ASGI edge",
    "api": "what each endpoint does: messages, models, validation, the guard, the admin API",
    "dispatch": "failover: the plan, one attempt, the relay, the breaker, balancing, the failure policy",
    "upstream": "the HTTP client as ccm configures it, the trust store, proxies, answer limits",
    "providers": "one adapter per wire format",
    "translate": "pure functions between formats, one sub-package per foreign format",
    "auth": "the credential resolver, OAuth, Google ADC",
    "observe": "request records, the request log, the journal, metrics",
}
TRANSLATE_PARTS = {"openai", "responses", "gemini"}
#: The only modules flat in ccm/: light and pure, so the CLI and the TUI may import them without the proxy.
FLAT = {
    "__init__.py": "the version, nothing else",
    "__main__.py": "`python -m ccm`: a shim into ccm.serve.main",
    "routing.py": "which model serves a request, a pure function of body and config",
    "sse.py": "SSE framing",
    "tokens.py": "the input-token estimate",
    "pidfile.py": "where a running proxy is (the CLI and the TUI read it)",
    "limits.py": "a mapping's context window and output limit, picked from the catalog",
    "media.py": "the token count of images and documents (standard library only)",
}
#: What a flat module may import besides the standard library: the other flat modules and the config.
LIGHT = {"orjson", "config", *(f"ccm.{name.removesuffix('.py')}" for name in FLAT)}
#: Hand-written connections the standard library is the right tool for: none today. (An entry would name
#: the file and why no well-kept library does the job, e.g. a local OAuth callback server.)
OWN_CONNECTIONS_ALLOWED: dict[str, str] = {}

CODE = [ROOT / name for name in ("ccm", "cli", "tui", "config")]
COMMENTED = [*CODE, ROOT / "bench", ROOT / "tests"]
MAX_LINES = 80


def sources(*roots: Path) -> Iterator[tuple[str, str]]:
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


# -- the checks: each returns what it found ("where: what"), [] when all is well ---------------------------


def missing_rooms(ccm: Path) -> list[str]:
    found = []
    packages = {p.parent.name for p in ccm.glob("*/__init__.py")}
    found += [f"ccm/{room}: no such room" for room in sorted(set(ROOMS) - packages)]
    found += [f"ccm/{extra}: a room no one named (add it to ROOMS)" for extra in sorted(packages - set(ROOMS))]
    parts = {p.parent.name for p in (ccm / "translate").glob("*/__init__.py")}
    found += [f"ccm/translate/{part}: missing" for part in sorted(TRANSLATE_PARTS - parts)]
    found += [
        f"ccm/{p.name}: not a light flat module (see FLAT)" for p in sorted(ccm.glob("*.py")) if p.name not in FLAT
    ]
    return found


def heavy_imports(name: str, source: str) -> list[str]:
    """A flat module that imports a room or a third-party library other than orjson is not light."""
    found = []
    for node in ast.walk(ast.parse(source)):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        for module in modules:
            top = module.split(".")[0]
            light = top in sys.stdlib_module_names or module in LIGHT or top == "config"
            if not light:
                found.append(f"{name}:{node.lineno}: imports {module}")
    return found


def init_not_empty(name: str, source: str) -> list[str]:
    """Every __init__.py under ccm/ is empty; ccm/__init__.py holds its docstring and __version__ only."""
    body = ast.parse(source).body
    if name == "ccm/__init__.py":
        rest = [
            n
            for n in body
            if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
            and not (isinstance(n, ast.Assign) and [ast.unparse(t) for t in n.targets] == ["__version__"])
        ]
        return [f"{name}:{n.lineno}: more than __version__" for n in rest]
    return [f"{name}: not empty"] if source.strip() else []


def own_connections(name: str, source: str) -> list[str]:
    """A hand-written HTTP client: an asyncio protocol class, or a raw connection opened by hand."""
    if name in OWN_CONNECTIONS_ALLOWED:
        return []
    tree = ast.parse(source)
    from_asyncio = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in ("asyncio", "asyncio.protocols")
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in node.bases]
            protocols = [b for b in bases if b.endswith("Protocol") and (b.startswith("asyncio.") or b in from_asyncio)]
            found += [f"{name}:{node.lineno}: class {node.name}({base})" for base in protocols]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if called in ("create_connection", "open_connection", "create_unix_connection", "open_unix_connection"):
                found.append(f"{name}:{node.lineno}: {ast.unparse(node.func)}(...)")
    return found


def module_swaps(name: str, source: str) -> list[str]:
    """sys.modules written to: a module replaced, added or removed by hand."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            text = ast.unparse(target)
            if text == "sys.modules" or text.startswith("sys.modules["):
                found.append(f"{name}:{node.lineno}: {text} written")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            writes = ("setdefault", "update", "pop", "popitem", "clear", "__setitem__", "__delitem__")
            if owner == "sys.modules" and node.func.attr in writes:
                found.append(f"{name}:{node.lineno}: sys.modules.{node.func.attr}(...)")
    return found


PRIVATE_HTTPX = {"_transport", "_cookies", "_mounts", "_transport_for_url"}


def private_httpx(name: str, source: str) -> list[str]:
    """httpx's private attributes and modules: they change without notice between releases."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            on_httpx = isinstance(node.value, ast.Name) and node.value.id == "httpx" and node.attr.startswith("_")
            if on_httpx or node.attr in PRIVATE_HTTPX:
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        found += [f"{name}:{node.lineno}: import {m}" for m in modules if m.startswith("httpx._")]
    return found


#: A citation only a reader with more than this repository could follow.
CITATION = re.compile(
    r"\bissues?\s*#?\d+|\b(?:DESIGN|FACTS|STYLE)\b|\bseeds?\s+\d+|\bseeds/|\bresearch\s*[/§]|\.\./shared",
    re.IGNORECASE,
)


def _comments_and_docstrings(source: str) -> Iterator[tuple[int, str]]:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:  # docstrings, and the attribute docstrings under fields and constants
            value = statement.value if isinstance(statement, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield statement.lineno, value.value


def citations(name: str, source: str) -> list[str]:
    found = []
    for line, text in _comments_and_docstrings(source):
        for match in CITATION.finditer(text):
            word = match.group(0)
            if word.lower() in ("design", "facts", "style") and not word.isupper():
                continue  # the English words are fine; the files' names are in capitals
            found.append(f"{name}:{line}: cites {word!r}")
    return found


def long_functions(name: str, source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - first + 1
            if lines > MAX_LINES:
                found.append(f"{name}:{node.lineno}: {node.name} is {lines} lines")
    return found


# -- the tree --------------------------------------------------------------------------------------------


def test_the_rooms_exist_and_ccm_keeps_only_light_flat_modules() -> None:
    assert missing_rooms(CCM) == []


def test_the_flat_modules_are_light() -> None:
    flat = [(n, s) for n, s in sources(CCM) if n.count("/") == 1 and n != "ccm/__main__.py"]
    assert len(flat) == len(FLAT) - 1
    assert [f for name, source in flat for f in heavy_imports(name, source)] == []


def test_every_init_under_ccm_is_empty() -> None:
    inits = [(n, s) for n, s in sources(CCM) if n.endswith("__init__.py")]
    assert len(inits) >= len(ROOMS) + len(TRANSLATE_PARTS)
    assert [f for name, source in inits for f in init_not_empty(name, source)] == []


@pytest.mark.parametrize(
    ("check", "roots"),
    [
        (own_connections, [CCM]),
        (module_swaps, CODE),
        (private_httpx, CODE),
        (citations, COMMENTED),
        (long_functions, CODE),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_the_code_has_none(check: Callable[[str, str], list[str]], roots: list[Path]) -> None:
    checked = list(sources(*roots))
    assert len(checked) > 50  # the walk saw the tree
    found = [f for name, source in checked for f in check(name, source)]
    assert found == [], f"{check.__name__}:\n" + "\n".join(found)


# -- each check catches what it looks for ---------------------------------------------------------------

LONG = "def f():\n" + "    x = 1\n" * 80
PLANTED: list[tuple[Callable[[str, str], list[str]], str]] = [
    (own_connections, "import asyncio\nclass C(asyncio.Protocol):\n    pass\n"),
    (own_connections, "from asyncio import BufferedProtocol\nclass C(BufferedProtocol):\n    pass\n"),
    (own_connections, "async def f(loop):\n    await loop.create_connection(lambda: None, 'h', 1)\n"),
    (own_connections, "import asyncio\nasync def f():\n    await asyncio.open_connection('h', 1)\n"),
    (module_swaps, "import sys\nsys.modules['x'] = object()\n"),
    (module_swaps, "import sys\ndel sys.modules['x']\n"),
    (module_swaps, "import sys\nsys.modules.setdefault('x', object())\n"),
    (private_httpx, "def f(client):\n    return client._transport\n"),
    (private_httpx, "def f(client):\n    client._cookies = None\n"),
    (private_httpx, "import httpx\nx = httpx._models\n"),
    (private_httpx, "from httpx._config import Timeout\n"),
    (citations, "x = 1  # see issue 12\n"),
    (citations, "x = 1  # see issue #12\n"),
    (citations, 'def f():\n    """As DESIGN.md says."""\n'),
    (citations, '"""FACTS section 1."""\n'),
    (citations, "# STYLE rule 10\n"),
    (citations, "# seed 003's name\n"),
    (citations, "# research/subscriptions-2026.md\n"),
    (citations, "# research §3.2\n"),
    (citations, "# copied from ../shared/fixtures\n"),
    (citations, 'class C:\n    x: int = 1\n    """From issue 4."""\n'),
    (long_functions, LONG),
    (
        long_functions,
        "class C:\n    @property\n" + LONG.replace("def f():", "    def f(self):").replace("\n    x", "\n        x"),
    ),
]
CLEAN: list[tuple[Callable[[str, str], list[str]], str]] = [
    (own_connections, "import httpx\nasync def f(c):\n    return await c.post('u')\n"),
    (own_connections, "from typing import Protocol\nclass Source(Protocol):\n    pass\n"),
    (module_swaps, "import sys\nloaded = 'x' in sys.modules and sys.modules.get('x')\n"),
    (private_httpx, "def f(self):\n    return self._client\n"),
    (citations, "# a good design; the facts; in this style; the seed of a hypothesis run; issues of GitHub\n"),
    (long_functions, LONG.replace("    x = 1\n", "", 1)),
]


@pytest.mark.parametrize(("check", "source"), PLANTED, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(PLANTED)])
def test_the_checks_catch(check: Callable[[str, str], list[str]], source: str) -> None:
    assert check("planted.py", source)


@pytest.mark.parametrize(("check", "source"), CLEAN, ids=[c.__name__ for c, _ in CLEAN])
def test_the_checks_pass_clean_code(check: Callable[[str, str], list[str]], source: str) -> None:
    assert check("clean.py", source) == []


def test_the_tree_checks_catch(tmp_path: Path) -> None:
    for room in ROOMS:
        (tmp_path / room).mkdir()
        (tmp_path / room / "__init__.py").write_text("")
    for part in TRANSLATE_PARTS:
        (tmp_path / "translate" / part).mkdir()
        (tmp_path / "translate" / part / "__init__.py").write_text("")
    assert missing_rooms(tmp_path) == []
    (tmp_path / "http.py").write_text("")  # a flat module no one named
    (tmp_path / "observe" / "__init__.py").unlink()
    (tmp_path / "translate" / "gemini" / "__init__.py").unlink()
    assert missing_rooms(tmp_path) == [
        "ccm/observe: no such room",
        "ccm/translate/gemini: missing",
        "ccm/http.py: not a light flat module (see FLAT)",
    ]
    assert heavy_imports("ccm/routing.py", "import httpx\nfrom ccm.dispatch import failover\n") == [
        "ccm/routing.py:1: imports httpx",
        "ccm/routing.py:2: imports ccm.dispatch",
    ]
    assert (
        heavy_imports("ccm/routing.py", "import re\nimport orjson\nfrom ccm.media import x\nfrom config import y\n")
        == []
    )
    assert init_not_empty("ccm/api/__init__.py", "from ccm.api.guard import refuse\n")
    assert init_not_empty("ccm/__init__.py", '"""Doc."""\n__version__ = "1"\nimport os\n')
    assert init_not_empty("ccm/__init__.py", '"""Doc."""\n__version__ = "1"\n') == []
