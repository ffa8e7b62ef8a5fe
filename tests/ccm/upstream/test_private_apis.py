"""ccm leans on one private httpx attribute: this test fails loudly the day httpx changes under it.

`ccm.serve.app.upstream_client` replaces `AsyncClient._cookies` with a jar that keeps nothing (httpx has no
public switch for it): a proxy must never carry one provider's cookie into a later request.
"""

from __future__ import annotations

import httpx

from ccm.serve.app import _NoCookies, upstream_client


def test_httpx_is_the_version_the_cookie_switch_was_written_for() -> None:
    assert httpx.__version__.startswith("0.28."), (
        f"httpx {httpx.__version__}: check that AsyncClient._cookies still exists and is consulted for "
        "every response, then widen this pin (ccm.serve.app.upstream_client)"
    )


def test_the_upstream_client_keeps_no_cookie() -> None:
    client = upstream_client()
    assert isinstance(client._cookies, _NoCookies)
    request = httpx.Request("GET", "http://127.0.0.1:1/")
    response = httpx.Response(200, headers={"set-cookie": "session=abc; Path=/"}, request=request)
    client._cookies.extract_cookies(response)
    assert not list(client.cookies.jar)
