"""Google application default credentials against a fake token endpoint on 127.0.0.1: service-account and
authorized-user files, the file search order, caching until 5 minutes before expiry, one fetch at a
time, and one-line errors that name the file and the fix."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccm.auth.adc import AdcTokens, check, credentials_path
from ccm.auth.credentials import CredentialError
from config.schema import ProviderConfig, spec_for
from tests.fakes.google import FakeTokenServer, authorized_user_file, service_account_file


@pytest.fixture
def token_server() -> Iterator[FakeTokenServer]:
    server = FakeTokenServer()
    server.start()
    yield server
    server.stop()


def vertex(credentials_file: Path | str | None = None) -> ProviderConfig:
    return ProviderConfig(
        "vx",
        "vertex-ai",
        spec_for("vertex-ai"),
        auth_type="adc",
        project_id="proj",
        credentials_file=str(credentials_file) if credentials_file else None,
    )


async def test_service_account_token_is_fetched_once_and_cached(tmp_path: Path, token_server: FakeTokenServer) -> None:
    key = service_account_file(tmp_path / "sa.json", f"{token_server.url}/token")
    tokens = AdcTokens()
    assert await tokens.token(vertex(key)) == "access-1"
    assert await tokens.token(vertex(key)) == "access-1"
    assert token_server.grants == 1
    grant = token_server.received[0]
    assert grant.path == "/token" and b"jwt-bearer" in grant.body
    assert check(vertex(key)) is None


async def test_concurrent_requests_cause_one_fetch(tmp_path: Path, token_server: FakeTokenServer) -> None:
    key = service_account_file(tmp_path / "sa.json", f"{token_server.url}/token")
    tokens = AdcTokens()
    got = await asyncio.gather(*(tokens.token(vertex(key)) for _ in range(10)))
    assert got == ["access-1"] * 10 and token_server.grants == 1


async def test_a_token_within_five_minutes_of_expiry_is_refreshed(tmp_path: Path) -> None:
    server = FakeTokenServer(expires_in=200).start()
    try:
        key = service_account_file(tmp_path / "sa.json", f"{server.url}/token")
        tokens = AdcTokens()
        assert await tokens.token(vertex(key)) == "access-1"
        assert await tokens.token(vertex(key)) == "access-2"
    finally:
        server.stop()


async def test_authorized_user_file_spends_its_refresh_token(tmp_path: Path, token_server: FakeTokenServer) -> None:
    path = authorized_user_file(tmp_path / "adc.json", f"{token_server.url}/token")
    assert await AdcTokens().token(vertex(path)) == "access-1"
    body = token_server.received[0].body.decode()
    assert "grant_type=refresh_token" in body and "refresh_token=1%2F%2Frefresh" in body


def test_file_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    assert credentials_path(vertex()) == tmp_path / "gcloud" / "application_default_credentials.json"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "env.json"))
    assert credentials_path(vertex()) == tmp_path / "env.json"
    assert credentials_path(vertex(tmp_path / "own.json")) == tmp_path / "own.json"


async def test_a_missing_file_names_the_file_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "nowhere"))
    problem = check(vertex())
    assert problem is not None and "application_default_credentials.json" in problem
    assert "gcloud auth application-default login" in problem and "\n" not in problem
    with pytest.raises(CredentialError) as caught:
        await AdcTokens().token(vertex())
    assert caught.value.status == 403 and not caught.value.transient
    assert "gcloud auth application-default login" in caught.value.message


@pytest.mark.parametrize("content", ["{not json", '{"type": "something_else"}', "[]"])
def test_a_broken_file_is_one_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    problem = check(vertex(path))
    assert problem is not None and str(path) in problem and "\n" not in problem


async def test_a_refused_grant_asks_for_a_new_login(tmp_path: Path, token_server: FakeTokenServer) -> None:
    token_server.refused = True
    path = authorized_user_file(tmp_path / "adc.json", f"{token_server.url}/token")
    with pytest.raises(CredentialError) as caught:
        await AdcTokens().token(vertex(path))
    assert caught.value.status == 401 and "gcloud auth application-default login" in caught.value.message


async def test_an_unreachable_token_endpoint_is_transient(tmp_path: Path) -> None:
    server = FakeTokenServer().start()
    url = server.url
    server.stop()
    path = authorized_user_file(tmp_path / "adc.json", f"{url}/token")
    with pytest.raises(CredentialError) as caught:
        await AdcTokens(timeout_s=2).token(vertex(path))
    assert caught.value.transient


async def test_the_token_authenticates_a_vertex_request(tmp_path: Path, token_server: FakeTokenServer) -> None:
    """The whole ADC path short of the dispatcher: file -> token endpoint -> bearer -> fake Vertex."""
    import httpx

    from ccm.auth.credentials import Credential
    from ccm.providers.base import RequestContext
    from ccm.providers.vertex import ADAPTER
    from ccm.routing import Candidate
    from tests.fakes.google import FakeGemini

    vx = FakeGemini(bearer="access-1").start()
    try:
        key = service_account_file(tmp_path / "sa.json", f"{token_server.url}/token")
        provider = ProviderConfig(
            "vx",
            "vertex-ai",
            spec_for("vertex-ai"),
            auth_type="adc",
            project_id="proj",
            base_url=f"{vx.url}/v1",
            credentials_file=str(key),
        )
        vx.script(vx.answer({"text": "authenticated"}))
        token = await AdcTokens().token(provider)
        ctx = RequestContext(
            Candidate(provider, "gemini-2.5-flash", None), Credential("adc", token), {}, requested_model="m"
        )
        request = ADAPTER.build({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, ctx)
        async with httpx.AsyncClient() as client:
            answer = await client.post(request.url, headers=request.headers, content=request.body)
        assert answer.status_code == 200, answer.text
        message = ADAPTER.translate_message(answer.content, answer.headers["content-type"], ctx)
        assert message["content"] == [{"type": "text", "text": "authenticated"}]
        assert (
            vx.received[0].path
            == "/v1/projects/proj/locations/global/publishers/google/models/gemini-2.5-flash:generateContent"
        )
    finally:
        vx.stop()


def test_a_missing_file_is_logged_once_at_load_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from ccm.serve.state import build_snapshot
    from config.load import parse_config

    text = (
        '[router]\ndefault = "m"\n\n[[providers]]\nname = "vx"\nprovider_type = "vertex-ai"\nproject_id = "p"\n'
        f'credentials_file = "{tmp_path / "missing.json"}"\n\n[[models]]\nname = "m"\n'
        '[[models.mappings]]\nprovider = "vx"\nactual_model = "gemini-2.5-pro"\n'
    )
    with caplog.at_level("WARNING"):
        snapshot = build_snapshot(parse_config(text).config, 1)
    assert snapshot.keys == {"vx": None}
    messages = [r.getMessage() for r in caplog.records]
    assert (
        len(messages) == 1 and "missing.json" in messages[0] and "gcloud auth application-default login" in messages[0]
    )
    assert "has no API key" not in messages[0]
