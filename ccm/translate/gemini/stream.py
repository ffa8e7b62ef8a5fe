"""Gemini GenerateContentResponse chunks in, Anthropic stream events out (dicts; the provider encodes).

    stream = GeminiStream(model="claude-opus-5-5", scope=scope)
    events = stream.sse(name, data)           # one SSE event: message_start first, on the first valid chunk
    events = stream.response(parsed_chunk)   # the same for a parsed chunk
    events = stream.close()                   # the upstream closed: the end, if Gemini said it ended

Every `streamGenerateContent?alt=sse` chunk is a whole response with delta parts; a non-streaming answer
is one such response, so both go through here. The answer is complete only once a candidate carried a
`finishReason` (or the prompt was blocked); a stream that closes before that gives [] from close(), and
the dispatcher reports it cut. The events' order is the shared writer's (ccm.translate.stream_writer);
what this wire adds:
- thought parts are thinking blocks, signed by ccm; Gemini's signatures ride along
  (ccm.translate.gemini.signature) and return on the next request at the same part;
- each functionCall is one tool_use block with a synthesized `toolu_` id (its arguments arrive whole);
- MALFORMED_FUNCTION_CALL / UNEXPECTED_TOOL_CALL, or an answer with no text and no call, raise
  InvalidUpstream (another provider should answer); safety-type endings are `refusal`, text kept;
- grounding sources of a Google Search answer are appended as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ccm.translate.answer_parts import sources_list
from ccm.translate.anthropic import InvalidUpstream, error_type_for
from ccm.translate.anthropic_events import Event
from ccm.translate.gemini.response import anthropic_usage, stop_reason, usage_metadata
from ccm.translate.gemini.signature import detail, plain_tool_id, signed_tool_id
from ccm.translate.signature import sign_thinking
from ccm.translate.stream_writer import AnthropicStreamWriter
from ccm.translate.usage import estimate_output_tokens


class GeminiStream:
    ends_with = "a finishReason"

    def __init__(
        self,
        *,
        model: str,
        scope: str,
        message_id: str | None = None,
        tool_names: Mapping[str, str] | None = None,
        input_estimate: int = 0,
    ) -> None:
        self.scope = scope
        self.tool_names = dict(tool_names or {})
        self.writer = AnthropicStreamWriter(
            model=model, message_id=message_id, input_estimate=input_estimate, sign=self._sign
        )
        self.usage: dict[str, int] | None = None
        self._metadata: Mapping[str, Any] | None = None
        self._finish: str | None = None
        self._signature: str | None = None
        """Gemini's signature for the open block (it may come on any of its parts, or on an empty one)."""
        self._calls = 0
        self._call_chars = 0
        self._text_chars = 0
        self._sources: dict[str, str] = {}

    def sse(self, name: str, data: str) -> list[Event]:
        if not data.strip():
            return []
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise InvalidUpstream(f"Gemini sent an event that is not JSON: {data[:200]!r}") from None
        return self.response(parsed)

    def whole(self, data: Any) -> list[Event]:
        """A whole JSON answer: one response, or the list of chunks streamGenerateContent answers without
        `alt=sse`."""
        events: list[Event] = []
        for item in data if isinstance(data, list) and len(data) != 1 else [data]:
            events += self.response(item)
        return events

    def response(self, data: Any) -> list[Event]:
        if self.writer.finished:
            return []
        if isinstance(data, Mapping) and isinstance(data.get("response"), Mapping) and "candidates" not in data:
            data = data["response"]  # the Code Assist / some gateways' wrapper
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
            return self._error(data["error"])
        if not isinstance(data, Mapping) or not any(
            k in data for k in ("candidates", "usageMetadata", "usage_metadata", "promptFeedback")
        ):
            if not self.writer.started:
                raise InvalidUpstream("Gemini's answer is not a GenerateContentResponse")
            return []
        events = self.writer.start()
        metadata = usage_metadata(data)
        if self._finish is not None:  # a chunk after the finish reason: only its usage counts
            self._metadata = metadata or self._metadata
            return events + self._end()
        candidates = data.get("candidates")
        candidate = candidates[0] if isinstance(candidates, list) and candidates else None
        if isinstance(candidate, Mapping):
            content = candidate.get("content")
            parts = content.get("parts") if isinstance(content, Mapping) else None
            for part in parts if isinstance(parts, list) else []:
                if isinstance(part, Mapping):
                    events += self._part(part)
            self._grounding(candidate.get("groundingMetadata"))
            reason = candidate.get("finishReason") or candidate.get("finish_reason")
            if isinstance(reason, str) and reason:
                self._finish = reason
        feedback = data.get("promptFeedback")
        if candidate is None and isinstance(feedback, Mapping) and feedback.get("blockReason"):
            self._finish = "PROHIBITED_CONTENT"
        if metadata is not None:
            self._metadata = metadata
        if self._finish is not None and metadata is not None:
            events += self._end()
        return events

    def close(self) -> list[Event]:
        """The end when Gemini said it ended; [] for a cut stream."""
        if self.writer.finished or self._finish is None:
            return []
        return self._end()

    # -- parts ----------------------------------------------------------------------------------------

    def _part(self, part: Mapping[str, Any]) -> list[Event]:
        raw_signature = part.get("thoughtSignature") or part.get("thought_signature")
        signature = raw_signature if isinstance(raw_signature, str) and raw_signature else None
        call = part.get("functionCall") or part.get("function_call")
        if isinstance(call, Mapping):
            return self._call(call, signature)
        raw_text = part.get("text")
        text = raw_text if isinstance(raw_text, str) else ""
        if part.get("thought") is True:
            events = self._switch("thinking")
            if signature:
                self._signature = signature
            return events + self.writer.thinking(text)
        if text:
            events = self._switch("text")
            self._text_chars += len(text)
            if signature:
                self._signature = signature
            return events + self.writer.text(text)
        if signature:  # an empty text part that carries a signature (often the last one)
            if self.writer.open_kind == "text":
                self._signature = signature
                return []
            return self._close() + self._carrier(signature)
        return []

    def _call(self, call: Mapping[str, Any], signature: str | None) -> list[Event]:
        events = self._close()
        name = str(call.get("name") or "")
        if not name:
            raise InvalidUpstream("Gemini sent a functionCall without a name")
        args = call.get("args")
        block = {
            "type": "tool_use",
            "id": signed_tool_id(signature, self.scope) if signature else plain_tool_id(),
            "name": self.tool_names.get(name, name),
            "input": {},
        }
        partial = orjson.dumps(args if isinstance(args, Mapping) else {}).decode()
        self._calls += 1
        self._call_chars += len(partial)
        return events + self.writer.tool_use(block, partial)

    def _switch(self, kind: str) -> list[Event]:
        if self.writer.open_kind == kind:
            return []
        return self._close() + self.writer.open(kind)

    def _close(self) -> list[Event]:
        """Close the open block; a text block's signature then rides on an empty thinking block after it."""
        kind, signature = self.writer.open_kind, self._signature
        if kind is None:
            return []
        events = self.writer.close()
        self._signature = None
        if kind == "text" and signature:
            events += self._carrier(signature)
        return events

    def _sign(self, text: str, key: Any) -> str:
        details = [detail(self._signature, self.scope)] if self._signature else None
        return sign_thinking(text, details)

    def _carrier(self, signature: str) -> list[Event]:
        """An empty thinking block carrying the signature of the part before it."""
        return self.writer.signature_only(sign_thinking("", [detail(signature, self.scope, on_previous=True)]))

    def _grounding(self, metadata: Any) -> None:
        if not isinstance(metadata, Mapping):
            return
        for chunk in metadata.get("groundingChunks") or []:
            web = chunk.get("web") if isinstance(chunk, Mapping) else None
            if isinstance(web, Mapping) and isinstance(web.get("uri"), str):
                self._sources.setdefault(web["uri"], str(web.get("title") or web["uri"]))

    # -- the end --------------------------------------------------------------------------------------

    def _end(self) -> list[Event]:
        events: list[Event] = []
        if self._sources:
            events += self._switch("text")
            text = sources_list((title, uri) for uri, title in self._sources.items())
            self._text_chars += len(text)
            events += self.writer.text(text)
            self._sources = {}
        events += self._close()
        has_output = self._calls > 0 or self._text_chars > 0
        reason = stop_reason(self._finish, has_tool_use=self._calls > 0, has_output=has_output)
        usage = anthropic_usage(self._metadata, input_estimate=self.writer.input_estimate)
        if self._metadata is None:
            usage["output_tokens"] = estimate_output_tokens(self.writer.chars + self._call_chars)
        self.usage = usage
        return events + self.writer.end(reason, usage)

    def _error(self, error: Mapping[str, Any]) -> list[Event]:
        code = error.get("code")
        state = str(error.get("status") or "")
        status = code if isinstance(code, int) else 500
        kind = "rate_limit_error" if state == "RESOURCE_EXHAUSTED" else error_type_for(status)
        message = str(error.get("message") or state or "Gemini reported an error")
        return self.writer.error({"type": kind, "message": message})
