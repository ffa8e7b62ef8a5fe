"""Every real Claude Code request through the Gemini translation (AI Studio and Vertex, both schema forms,
2.5 and 3.x thinking), held to google-genai's request types and Gemini's turn rules."""

from __future__ import annotations

import orjson
import pytest

from ccm.providers.gemini import ADAPTER as GEMINI
from ccm.providers.vertex import ADAPTER as VERTEX
from ccm.translate.gemini.request import to_gemini_request
from tests.translate.gemini_helpers import gemini_ctx, validate_gemini_request
from tests.translate.helpers import fixture_names, load_fixture

MODELS = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview", "gemini-3-flash-preview"]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fixture", fixture_names())
def test_fixture_translates_to_a_valid_gemini_request(fixture: str, model: str, stream: bool) -> None:
    body = load_fixture(fixture)
    original = orjson.dumps(body)
    ctx = gemini_ctx(model, stream=stream)
    request = GEMINI.build(body, ctx)
    sent = orjson.loads(request.body)
    validate_gemini_request(sent)
    assert orjson.dumps(body) == original, "the client's body was mutated"
    action = "streamGenerateContent?alt=sse" if stream else "generateContent"
    assert request.url == f"http://h/v1beta/models/{model}:{action}"
    assert request.headers["x-goog-api-key"] == "gm-key"
    assert "anthropic-beta" not in request.headers and "authorization" not in request.headers
    text = request.body.decode()
    assert "cache_control" not in text and "x-anthropic-billing-header" not in text
    assert '"$schema"' not in text
    names = [d["name"] for t in sent.get("tools", []) for d in t.get("functionDeclarations", [])]
    assert "DeferredToolPlaceholder" not in names
    if body.get("system"):
        assert sent["systemInstruction"]["parts"][0]["text"]
    if isinstance(body.get("max_tokens"), int):
        assert sent["generationConfig"]["maxOutputTokens"] == min(body["max_tokens"], 65536)


@pytest.mark.parametrize("fixture", fixture_names())
def test_fixture_with_plain_parameters_schemas(fixture: str) -> None:
    body = load_fixture(fixture)
    translated = to_gemini_request(body, model="gemini-2.5-flash", scope="00000000", plain_parameters=True)
    validate_gemini_request(translated.body)
    for tool in translated.body.get("tools", []):
        for declaration in tool.get("functionDeclarations", []):
            assert "parameters" in declaration and "parametersJsonSchema" not in declaration


@pytest.mark.parametrize("fixture", fixture_names())
def test_fixture_on_vertex(fixture: str) -> None:
    body = load_fixture(fixture)
    ctx = gemini_ctx("gemini-2.5-pro", provider_type="vertex-ai", base_url=None, project_id="proj", location="us-east5")
    request = VERTEX.build(body, ctx)
    validate_gemini_request(orjson.loads(request.body))
    assert request.url.startswith(
        "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/publishers/google/models/"
        "gemini-2.5-pro:"
    )
    assert request.headers["authorization"] == "Bearer gm-key"
    assert "x-goog-api-key" not in request.headers


@pytest.mark.parametrize("fixture", fixture_names())
def test_fixture_as_claude_on_vertex(fixture: str) -> None:
    body = load_fixture(fixture)
    ctx = gemini_ctx("claude-sonnet-4-5@20250929", provider_type="vertex-ai", base_url=None, project_id="proj")
    request = VERTEX.build(body, ctx)
    sent = orjson.loads(request.body)
    assert "model" not in sent and sent["anthropic_version"] == "vertex-2023-10-16"
    assert sent["messages"] == [m for m in sent["messages"]]
    action = "streamRawPredict" if body.get("stream") else "rawPredict"
    assert request.url == (
        "https://aiplatform.googleapis.com/v1/projects/proj/locations/global/publishers/anthropic/models/"
        f"claude-sonnet-4-5@20250929:{action}"
    )
