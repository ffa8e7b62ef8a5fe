"""The upstream room stands on well-kept libraries: no HTTP client of ccm's own, no private attribute of
httpx, no module swapped in sys.modules. A grep over the proxy's sources, so a regression shows at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CCM = Path(__file__).resolve().parents[3] / "ccm"
SOURCES = sorted(CCM.rglob("*.py"))
#: sys.modules is checked where this room answers for it: the entry point and the upstream client
#: (the serving process's own Hypercorn changes live, and are judged, in ccm/serve).
ENTRY_AND_UPSTREAM = [CCM / "__main__.py", *sorted((CCM / "upstream").rglob("*.py"))]


@pytest.mark.parametrize(
    ("pattern", "what", "sources"),
    [
        (r"asyncio\.Protocol\b|\bcreate_connection\(|\bopen_connection\(", "a hand-written HTTP connection", SOURCES),
        (r"\bsys\.modules\s*(\[|\.setdefault|\.update)", "a module swapped in sys.modules", ENTRY_AND_UPSTREAM),
        (
            r"\b(client|transport|httpx\.\w+|self)\._(transport|cookies|mounts|pool|transport_for_url)\b",
            "a private httpx attribute",
            SOURCES,
        ),
    ],
    ids=["own client", "sys.modules", "private httpx"],
)
def test_the_proxy_has_no(pattern: str, what: str, sources: list[Path]) -> None:
    found = [
        f"{path.relative_to(CCM.parent)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(pattern, line)
    ]
    assert not found, f"{what}:\n" + "\n".join(found)
