"""Scripted models for whole agent turns: a fake upstream that behaves like a model using a tool.

    turn = AgentTurn()                               # asks for Bash `echo hello-from-tool-$((6*7))`
    upstream.script(turn.anthropic())                # or turn.openai() for a Chat Completions upstream
    ... a client runs the tool and sends its output back ...
    turn.final_text("hello-from-tool-42")            # what the model answers once it has the output

The model decides from the request alone (stateless, like a real one): no tool output in the
conversation yet -> it calls the tool; the tool's output is there -> it answers with text quoting it.
The command does arithmetic in the shell so the output proves the tool really ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.anthropic_sse import tool_use_stream
from tests.fakes.openai_sse import chat_stream
from tests.fakes.upstream import Received, Reply, anthropic_stream


def _text(content: Any) -> str:
    """Text of a tool result's content: a string, or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def anthropic_tool_output(body: dict[str, Any]) -> str | None:
    """The last tool_result in an Anthropic request (None when the conversation has none)."""
    found = None
    for message in body.get("messages") or []:
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    found = _text(block.get("content"))
    return found


def openai_tool_output(body: dict[str, Any]) -> str | None:
    """The last `role: "tool"` message's content in a Chat Completions request (None when there is none)."""
    found = None
    for message in body.get("messages") or []:
        if message.get("role") == "tool":
            found = _text(message.get("content"))
    return found


@dataclass(frozen=True)
class AgentTurn:
    """One tool call then one text answer, in either wire format."""

    command: str = "echo hello-from-tool-$((6*7))"
    expected_output: str = "hello-from-tool-42"
    tool: str = "Bash"
    model: str = "fake-model"

    @property
    def tool_input(self) -> dict[str, Any]:
        return {"command": self.command, "description": "Echo a marker"}

    def final_text(self, output: str | None = None) -> str:
        return f"The tool printed {(output if output is not None else self.expected_output).strip()}."

    def anthropic(self) -> Reply:
        """A Reply for an Anthropic-format upstream (`POST /v1/messages`, streaming)."""

        def answer(rec: Received) -> Reply:
            if not rec.path.startswith("/v1/messages") or rec.path.startswith("/v1/messages/count_tokens"):
                return Reply.error(404, f"the fake serves only /v1/messages, not {rec.path}", "not_found_error")
            output = anthropic_tool_output(rec.json)
            if output is None:
                return Reply.stream(tool_use_stream(self.tool, self.tool_input, model=self.model))
            return Reply.stream(anthropic_stream(self.final_text(output), model=self.model))

        return Reply(handler=answer)

    def openai(self) -> Reply:
        """A Reply for an OpenAI-compatible upstream (`POST /chat/completions`, streaming)."""

        def answer(rec: Received) -> Reply:
            if not rec.path.endswith("/chat/completions"):
                return Reply.error(404, f"the fake serves only /chat/completions, not {rec.path}", "not_found_error")
            output = openai_tool_output(rec.json)
            if output is None:
                calls = [("call_fake01", self.tool, self.tool_input)]
                return Reply.stream(chat_stream(tool_calls=calls, model=self.model))
            return Reply.stream(chat_stream(text=self.final_text(output), model=self.model))

        return Reply(handler=answer)
