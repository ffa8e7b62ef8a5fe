"""Other people's accounts on this machine, for `ccm start`'s warnings.

A proxy on 127.0.0.1 with no `server.api_key` serves whoever connects to it, and on a shared machine that
is every local account, not only its owner's: a TCP port on loopback has no owner to check. ccm does not
refuse them (one account serving a team on one machine is a setup people use on purpose); it says so when
other accounts are active, so that the owner can set a router key (`ccm code` and `ccm env` pass it on).

Linux only: the accounts are the owners of the processes in /proc. Elsewhere, or with /proc mounted
`hidepid` (others' processes hidden), none are found and nothing is said.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The first account a person gets (login.defs' UID_MIN); below it, system accounts.
UID_MIN = 1000
#: `nobody` and the ranges container runtimes map to (subordinate ids), not people.
UID_MAX = 60000


def other_accounts(proc: Path = Path("/proc")) -> list[str]:
    """The people's accounts, other than this one, that run a process now: names, or uids without one."""
    if not hasattr(os, "getuid") or not proc.is_dir():
        return []
    me = os.getuid()
    uids: set[int] = set()
    try:
        entries = list(proc.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            uids.add(entry.stat().st_uid)
        except OSError:  # the process ended while we looked
            continue
    return [_name(uid) for uid in sorted(uids) if uid != me and UID_MIN <= uid < UID_MAX]


def _name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def shared_loopback_warning(listen: str, accounts: list[str]) -> str | None:
    """The warning for a loopback proxy with no router key on a machine where `accounts` are active."""
    if not accounts:
        return None
    shown = ", ".join(accounts[:5]) + (f" and {len(accounts) - 5} more" if len(accounts) > 5 else "")
    return (
        f"other accounts on this machine ({shown}) can reach the proxy on {listen} and spend your provider keys: "
        "set server.api_key (`ccm code` and `ccm env` pass it to Claude Code)"
    )
