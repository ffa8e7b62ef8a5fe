"""Fake Google servers on 127.0.0.1: Gemini (AI Studio), Vertex AI (Gemini and Claude) and a token endpoint.

The Gemini and Vertex fakes check requests the way the real services were seen to in 2026 before
answering with the scripted reply: a bad auth header is 401/403, a body google-genai's types reject is a
400, and in the active tool loop the first functionCall of each model turn must carry a signature this
server issued (or the documented dummy), else 400 with Google's own wording. Signatures are issued per
server, so AI Studio's are refused by Vertex, as in real life.

    gem = FakeGemini(key="gm-key").start()
    gem.script(gem.answer({"text": "hi"}), ...)     # a Reply: JSON or SSE by the request's endpoint
    token = FakeTokenServer().start()               # a service-account JSON's token_uri points here
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.upstream import FakeUpstream, Received, Reply

DUMMY = "skip_thought_signature_validator"


def google_error(status: int, message: str, state: str = "INVALID_ARGUMENT", details: list[Any] | None = None) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message, "status": state}
    if details:
        error["details"] = details
    return Reply(status, json={"error": error})


def rate_limited(delay: str = "3s") -> Reply:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
    return google_error(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED", [retry])


def candidate_response(parts: list[dict[str, Any]], finish: str | None, usage: dict[str, Any] | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    out: dict[str, Any] = {"candidates": [candidate], "modelVersion": "fake"}
    if usage:
        out["usageMetadata"] = usage
    return out


def usage(prompt: int = 12, candidates: int = 4, thoughts: int = 0, cached: int = 0) -> dict[str, int]:
    out = {"promptTokenCount": prompt, "candidatesTokenCount": candidates, "totalTokenCount": prompt + candidates}
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    if cached:
        out["cachedContentTokenCount"] = cached
    return out


class FakeGemini(FakeUpstream):
    """A Gemini endpoint: AI Studio (`x-goog-api-key`) or, with `bearer`, Vertex's Gemini publisher."""

    def __init__(self, *, key: str = "gm-key", bearer: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.bearer = bearer
        self.issued: set[str] = set()

    def signature(self) -> str:
        """A fresh signature this server will accept back."""
        value = base64.b64encode(b"sig:" + secrets.token_bytes(12)).decode()
        self.issued.add(value)
        return value

    def answer(
        self,
        *parts: dict[str, Any],
        finish: str | None = "STOP",
        usage_metadata: dict[str, Any] | None = None,
        split_text: bool = True,
    ) -> Reply:
        """The scripted answer, as JSON for :generateContent and SSE for :streamGenerateContent."""
        final_usage = usage_metadata or usage()

        def reply(received: Received) -> Reply:
            problem = self.check(received)
            if problem is not None:
                return problem
            if ":streamGenerateContent" not in received.path:
                return Reply(200, json=candidate_response(list(parts), finish, final_usage))
            if "alt=sse" not in received.path:
                return google_error(400, "ccm must ask for alt=sse")
            chunks: list[dict[str, Any]] = []
            for part in parts:
                text = part.get("text")
                if split_text and isinstance(text, str) and len(text) > 3 and "thoughtSignature" not in part:
                    half = len(text) // 2
                    chunks.append(candidate_response([{**part, "text": text[:half]}], None, None))
                    chunks.append(candidate_response([{**part, "text": text[half:]}], None, None))
                else:
                    chunks.append(candidate_response([part], None, None))
            chunks.append(candidate_response([], finish, final_usage))
            body = [b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks]
            return Reply.stream(body)

        return Reply(handler=reply)

    def raw(self, reply: Reply) -> Reply:
        """A scripted reply sent after the request checks passed."""

        def handler(received: Received) -> Reply:
            return self.check(received) or reply

        return Reply(handler=handler)

    # -- what the real service refuses ----------------------------------------------------------------

    def check(self, received: Received) -> Reply | None:
        if self.bearer is not None:
            if received.headers.get("authorization") != f"Bearer {self.bearer}":
                return google_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        elif received.headers.get("x-goog-api-key") != self.key:
            return google_error(403, "API key not valid. Please pass a valid API key.", "PERMISSION_DENIED")
        if "anthropic-beta" in received.headers or "x-api-key" in received.headers:
            return google_error(400, "ccm forwarded an Anthropic header to Gemini")
        from tests.translate.gemini_helpers import validate_gemini_request

        body = received.json
        try:
            validate_gemini_request(body)
        except (AssertionError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            return google_error(400, f"Invalid JSON payload received. {str(exc)[:300]}")
        return self._signatures(body["contents"])

    def _signatures(self, contents: list[dict[str, Any]]) -> Reply | None:
        # The active loop starts after the last user turn with text and no functionResponse.
        start = 0
        for i, turn in enumerate(contents):
            if turn["role"] == "user" and not any("functionResponse" in p for p in turn["parts"]):
                start = i
        for i, turn in enumerate(contents):
            for part in turn["parts"]:
                signature = part.get("thoughtSignature")
                if signature is not None and signature != DUMMY and signature not in self.issued:
                    return google_error(400, "Corrupted thought signature.")
            calls = [p for p in turn["parts"] if "functionCall" in p]
            if i > start and turn["role"] == "model" and calls and "thoughtSignature" not in calls[0]:
                name = calls[0]["functionCall"]["name"]
                return google_error(
                    400,
                    "Function call is missing a thought_signature in functionCall parts. This is required for "
                    f"tools to work correctly. Additional data, function call `default_api:{name}` , position {i}.",
                )
        return None


class FakeTokenServer(FakeUpstream):
    """Google's OAuth token endpoint: a JWT-bearer grant (service account) or a refresh_token grant
    (authorized user) gets `access-N`, counted in `grants`."""

    def __init__(self, *, expires_in: int = 3600) -> None:
        super().__init__()
        self.expires_in = expires_in
        self.grants = 0
        self.refused = False
        self._count = threading.Lock()
        self.script(Reply(handler=self._token))

    def _token(self, received: Received) -> Reply:
        form = {k: v[0] for k, v in parse_qs(received.body.decode()).items()}
        if self.refused:
            return Reply(
                400, json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            )
        grant = form.get("grant_type")
        if grant not in ("urn:ietf:params:oauth:grant-type:jwt-bearer", "refresh_token"):
            return Reply(400, json={"error": "unsupported_grant_type"})
        with self._count:
            self.grants += 1
            number = self.grants
        time.sleep(0.05)  # long enough for concurrent callers to pile up behind the first fetch
        return Reply(
            200, json={"access_token": f"access-{number}", "expires_in": self.expires_in, "token_type": "Bearer"}
        )


def service_account_file(path: Any, token_uri: str, project: str = "proj") -> Any:
    """A service-account key file (a real RSA key, so google-auth can sign the JWT)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": f"ccm-test@{project}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return path


def authorized_user_file(path: Any, token_uri: str) -> Any:
    info = {
        "type": "authorized_user",
        "client_id": "cid.apps.googleusercontent.com",
        "client_secret": "csecret",
        "refresh_token": "1//refresh",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return path
