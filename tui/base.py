"""What every tab body shares: typed access to the app's state and a hook to take focus.

A tab body subscribes to the app's signals on mount and draws itself from the app's current state, so a
tab mounted late (tabs are lazy) starts up to date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.containers import Vertical
from textual.widget import Widget

if TYPE_CHECKING:
    from tui.app import CcmApp


class CcmView(Vertical):
    """The body of one tab."""

    can_focus = False

    @property
    def ccm(self) -> CcmApp:
        return cast("CcmApp", self.app)

    def default_focus(self) -> Widget | None:
        """The widget that takes focus when the user switches to this tab."""
        return None
