"""Every change ccm makes to typer's behaviour (typer 0.29, read against 0.29.2), in one place.

1. `install()`: keep pydantic out of `ccm <command>`: plain str/bool/int/float/Path options are coerced by hand.
2. `hide_flag_types()`: typer 0.29's rich help shows `<bool>` beside every flag (`--json <bool>`), which
   reads as if the flag took a value; flags show no type, as click's own help does.

typer 0.29 coerces every parameter value through a pydantic TypeAdapter, built on first use. Importing
pydantic and building the adapters costs 55-70 ms on every command (measured: a `route explain` stand-in
took 119 ms with it, 50 ms without), more than the rest of the CLI's start-up together. For the plain
types ccm's options use, a conversion plus click's range message is all that validation does, so those
get a tiny coercer here; anything else (files, enums, lists, custom parsers) still goes through typer's
own path. If typer's internals move, `install()` does nothing and typer behaves as it always did; that
is never silent in development: tests/cli/test_typer_fast.py fails on any typer whose internals the patch
does not find (pyproject pins typer to the minor version it was written against).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SIMPLE: tuple[type, ...] = (str, bool, int, float, Path)


def hide_flag_types() -> bool:
    """Help shows no `<bool>` beside a flag (idempotent); False when typer's internals moved."""
    try:
        from typer import core
    except ImportError:
        return False
    option = getattr(core, "TyperOption", None)
    original = getattr(option, "display_type_rich", None)
    if option is None or original is None:
        return False
    if getattr(original, "_ccm_flag", False):
        return True

    def display_type_rich(self: Any, ctx: Any) -> Any:
        if getattr(self, "is_flag", False) and getattr(self, "metavar", None) is None:
            return None
        return original(self, ctx)

    display_type_rich._ccm_flag = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich
    return True


def install() -> bool:
    """Patch typer's lazy runtime-parameter builder with a fast path for plain types (idempotent).

    Returns whether the fast path is in place (False: typer's internals moved, its own path runs)."""
    try:
        from typer import core
        from typer._click.exceptions import BadParameter
        from typer._coercion import RuntimeParam
    except ImportError:  # a typer without these internals: keep its own behaviour
        return False
    builder = getattr(core._TyperParameter, "get_runtime_param", None)
    if builder is None:
        return False
    if getattr(builder, "_ccm_fast", False):
        return True

    @dataclass(frozen=True)
    class PlainParam(RuntimeParam):
        """Coerce a value to a plain type, with click's wording for a bad value or an out-of-range number."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind = self.annotation
            if kind is bool and isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise BadParameter(f"{value!r} is not a valid boolean.", ctx=ctx, param=param)
                return lowered in ("1", "true", "yes", "on")
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                try:
                    value = kind(value)
                except (TypeError, ValueError):
                    label = {int: "integer", float: "float"}.get(kind, kind.__name__)
                    raise BadParameter(f"{value!r} is not a valid {label}.", ctx=ctx, param=param) from None
            low, high = getattr(self.parameter_info, "min", None), getattr(self.parameter_info, "max", None)
            if (low is not None and value < low) or (high is not None and value > high):
                if low is not None and high is not None:
                    bounds = f"in the range {low}<=x<={high}"
                else:
                    bounds = f">= {low}" if low is not None else f"<= {high}"
                raise BadParameter(f"{value} is not {bounds}.", ctx=ctx, param=param)
            return value

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            descriptor = self.type_descriptor
            info = descriptor.parameter_info
            if (
                descriptor.annotation in _SIMPLE
                and descriptor.file_annotation is None
                and getattr(info, "parser", None) is None
                and getattr(info, "click_type", None) is None
            ):
                self._runtime_param = PlainParam(parameter_info=info, annotation=descriptor.annotation)
        return builder(self)

    get_runtime_param._ccm_fast = True  # type: ignore[attr-defined]
    core._TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
    return True
