"""Pure translations between Anthropic Messages and other wire formats (no I/O, no config loading).

The provider modules (ccm.providers.*) call these; everything else here is private.
"""

from ccm.translate.anthropic_events import events_from_message, message_from_events
from ccm.translate.errors import classify as classify_error
from ccm.translate.errors import error_message, retry_after
from ccm.translate.gemini_request import GeminiRequest, to_gemini_request
from ccm.translate.gemini_response import google_error, name_declaration
from ccm.translate.gemini_signature import signature_scope
from ccm.translate.gemini_stream import GeminiStream
from ccm.translate.openai_request import OpenAIRequest, UnsupportedRequest, requested_effort, to_openai_request
from ccm.translate.openai_response import NotACompletion, anthropic_usage, new_message_id, to_anthropic_message
from ccm.translate.openai_stream import OpenAIStream, upstream_error
from ccm.translate.profile import Profile, profile_for
from ccm.translate.signature import is_ccm_signature, sign_thinking
from ccm.translate.tool_args import parse_tool_arguments, repair_json
from ccm.translate.tool_names import openai_tool_name

__all__ = [
    "GeminiRequest",
    "GeminiStream",
    "NotACompletion",
    "OpenAIRequest",
    "OpenAIStream",
    "Profile",
    "UnsupportedRequest",
    "anthropic_usage",
    "classify_error",
    "error_message",
    "events_from_message",
    "google_error",
    "is_ccm_signature",
    "message_from_events",
    "name_declaration",
    "new_message_id",
    "openai_tool_name",
    "parse_tool_arguments",
    "profile_for",
    "repair_json",
    "requested_effort",
    "retry_after",
    "sign_thinking",
    "signature_scope",
    "to_anthropic_message",
    "to_gemini_request",
    "to_openai_request",
    "upstream_error",
]
