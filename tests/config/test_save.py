"""ConfigDocument: what the user wrote survives every edit, and a save never damages the file."""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.load import parse_config
from config.paths import default_config_text
from config.save import ConfigDocument, atomic_write

SMALL = """\
# top comment

[server]
port = 13456   # the port

[router]
# why this default
default = "glm-4.6"
think = ""

# zai: the coding plan
[[providers]]
name = "zai"
provider_type = "z.ai"   # inline comment
api_key = "$ZAI_API_KEY"

[[models]]
name = "glm-4.6"

# primary
[[models.mappings]]
provider = "zai"
actual_model = "glm-4.6"
priority = 1

# backup
[[models.mappings]]
provider = "or"
actual_model = "z-ai/glm-4.6"
priority = 2

[[providers]]
name = "or"
provider_type = "openrouter"

[[models]]
name = "minimax-m2"

[[models.mappings]]
provider = "or"
actual_model = "minimax/minimax-m2"
"""


def diff(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def headers(text: str) -> list[str]:
    """The table headers in file order, with the entry name after each array header."""
    out: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("[[providers]]") or line.startswith("[[models]]"):
            name = re.search(r'"(.*)"', lines[i + 1])
            out.append(f"{line.strip('[]')}:{name.group(1) if name else '?'}")
        elif line.startswith("["):
            out.append(line)
    return out


# -- byte for byte when nothing changes ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["small", "default", "v06", "fork", "crlf", "no-final-newline", "tricky"])
def test_untouched_text_round_trips_exactly(name: str, v06_text: str, fork_text: str) -> None:
    texts = {
        "small": SMALL,
        "default": default_config_text(),
        "v06": v06_text,
        "fork": fork_text,
        "crlf": SMALL.replace("\n", "\r\n"),
        "no-final-newline": SMALL.rstrip("\n"),
        "tricky": '[router]\nnote = """\n[[providers]]\n# not a comment\n"""\nrows = [\n  ["a", "b"]\n]\n',
    }
    text = texts[name]
    doc = ConfigDocument(text)
    assert doc.text == text
    for _ in doc.providers():  # reading never changes the text
        pass
    assert doc.text == text


def test_noop_edits_change_nothing(v06_text: str) -> None:
    doc = ConfigDocument(v06_text)
    doc.set_value("router", "think", "claude-opus-4.1")
    doc.set_value("server", "port", 13456)
    doc.set_value("router", "long_context", None)  # absent already
    for provider in doc.providers():
        doc.upsert_provider(provider["name"], provider)
    for model in doc.models():
        doc.upsert_model(model["name"], model["mappings"])
    assert doc.text == v06_text


# -- plain tables --------------------------------------------------------------------------------------
def test_set_value_changes_one_line_and_keeps_comments() -> None:
    doc = ConfigDocument(SMALL)
    doc.set_value("router", "think", "minimax-m2")
    doc.set_value("server", "port", 8080)
    assert diff(SMALL, doc.text) == (
        ["port = 13456   # the port", 'think = ""'],
        ["port = 8080   # the port", 'think = "minimax-m2"'],
    )


def test_set_value_adds_and_removes_keys_in_place() -> None:
    doc = ConfigDocument(SMALL)
    doc.set_value("router", "background", "minimax-m2")
    doc.set_value("router", "think", None)
    assert diff(SMALL, doc.text) == (['think = ""'], ['background = "minimax-m2"'])
    assert doc.get_table("router") == {"default": "glm-4.6", "background": "minimax-m2"}
    lines = doc.text.splitlines()
    assert lines[lines.index('background = "minimax-m2"') + 1] == ""  # still one blank line before the next


def test_set_value_creates_a_missing_table_in_the_right_place() -> None:
    doc = ConfigDocument(SMALL)
    doc.set_value("server.timeouts", "api_timeout_ms", 120_000)
    removed, added = diff(SMALL, doc.text)
    assert removed == []
    assert [a for a in added if a] == ["[server.timeouts]", "api_timeout_ms = 120000"]
    assert doc.text.index("[server.timeouts]") < doc.text.index("[router]")
    assert parse_config(doc.text).config.server.timeouts.api_timeout_ms == 120_000
    assert doc.get_table("server.timeouts") == {"api_timeout_ms": 120_000}
    doc.set_value("server.timeouts", "connect_timeout_ms", 5)  # then edits that new table
    assert doc.get_table("server.timeouts") == {"api_timeout_ms": 120_000, "connect_timeout_ms": 5}


def test_set_value_creates_server_and_router_tables() -> None:
    text = '[[providers]]\nname = "p"\nprovider_type = "z.ai"\n\n[[models]]\nname = "m"\n'
    doc = ConfigDocument(text)
    doc.set_value("router", "default", "m")
    doc.set_value("server", "port", 1234)
    assert doc.text.startswith('[router]\ndefault = "m"\n\n[server]\nport = 1234\n\n[[providers]]')
    assert doc.text.endswith(text)
    assert parse_config(doc.text).config.server.port == 1234


@pytest.mark.parametrize(
    "text",
    [
        '[server]\nport = 1\ntimeouts = { api_timeout_ms = 5 }\n\n[router]\ndefault = "m"\n',
        '[server]\nport = 1\ntimeouts.api_timeout_ms = 5\n\n[router]\ndefault = "m"\n',
    ],
    ids=["inline-table", "dotted-keys"],
)
def test_set_value_edits_a_table_written_inside_its_parent(text: str) -> None:
    doc = ConfigDocument(text)
    assert doc.get_table("server.timeouts") == {"api_timeout_ms": 5}
    doc.set_value("server.timeouts", "connect_timeout_ms", 7)
    assert "[server.timeouts]" not in doc.text  # no second definition (that would be invalid TOML)
    data = parse_config(doc.text + '\n[[models]]\nname = "m"\n').config.server.timeouts
    assert (data.api_timeout_ms, data.connect_timeout_ms) == (5, 7)
    assert doc.text.endswith('\n\n[router]\ndefault = "m"\n')


# -- providers --------------------------------------------------------------------------------------------
def test_update_provider_touches_only_its_changed_keys() -> None:
    doc = ConfigDocument(SMALL)
    doc.upsert_provider("zai", {"provider_type": "z.ai", "api_key": "$ZAI_KEY", "enabled": False})
    assert diff(SMALL, doc.text) == (['api_key = "$ZAI_API_KEY"'], ['api_key = "$ZAI_KEY"', "enabled = false"])
    assert 'provider_type = "z.ai"   # inline comment' in doc.text


def test_upsert_provider_removes_keys_it_is_not_given() -> None:
    doc = ConfigDocument(SMALL)
    doc.upsert_provider("zai", {"provider_type": "z.ai", "api_key": None})
    assert diff(SMALL, doc.text) == (['api_key = "$ZAI_API_KEY"'], [])


def test_new_provider_goes_after_the_last_provider_and_interleaving_stays() -> None:
    doc = ConfigDocument(SMALL)
    doc.upsert_provider("kimi", {"provider_type": "kimi-coding", "api_key": "$KIMI_API_KEY"})
    assert headers(doc.text) == [
        "[server]",
        "[router]",
        "providers:zai",
        "models:glm-4.6",
        "[[models.mappings]]",
        "[[models.mappings]]",
        "providers:or",
        "providers:kimi",
        "models:minimax-m2",
        "[[models.mappings]]",
    ]
    removed, added = diff(SMALL, doc.text)
    assert removed == []
    assert [a for a in added if a] == [
        "[[providers]]",
        'name = "kimi"',
        'provider_type = "kimi-coding"',
        'api_key = "$KIMI_API_KEY"',
    ]
    assert '\n\n[[providers]]\nname = "kimi"' in doc.text and 'KIMI_API_KEY"\n\n[[models]]' in doc.text
    parse_config(doc.text)


def test_rename_provider_updates_mappings_and_router_slots() -> None:
    text = SMALL.replace('think = ""', 'think = "ZAI , glm-4.6"\nbackground = "or,x"')
    doc = ConfigDocument(text)
    doc.upsert_provider("z-ai", {"provider_type": "z.ai", "api_key": "$ZAI_API_KEY"}, old_name="zai")
    removed, added = diff(text, doc.text)
    assert sorted(removed) == sorted(['name = "zai"', 'provider = "zai"', 'think = "ZAI , glm-4.6"'])
    assert sorted(added) == sorted(['name = "z-ai"', 'provider = "z-ai"', 'think = "z-ai, glm-4.6"'])
    cfg = parse_config(doc.text).config
    assert cfg.model("glm-4.6").mappings[0].provider == "z-ai"  # type: ignore[union-attr]
    assert '# primary\n[[models.mappings]]\nprovider = "z-ai"' in doc.text


def test_rename_of_a_missing_provider_is_an_error() -> None:
    doc = ConfigDocument(SMALL)
    with pytest.raises(ConfigError, match="no provider named 'nope'"):
        doc.upsert_provider("x", {"provider_type": "z.ai"}, old_name="nope")
    assert doc.text == SMALL


def test_delete_provider_takes_the_comment_above_it() -> None:
    doc = ConfigDocument(SMALL)
    assert doc.delete_provider("ZAI") is True
    assert doc.delete_provider("zai") is False
    removed, added = diff(SMALL, doc.text)
    assert added == []
    assert [r for r in removed if r] == [
        "# zai: the coding plan",
        "[[providers]]",
        'name = "zai"',
        'provider_type = "z.ai"   # inline comment',
        'api_key = "$ZAI_API_KEY"',
    ]
    assert "\n\n\n" not in doc.text  # with its blank line
    with pytest.raises(ConfigError) as info:  # its mapping still points at it
        doc.validate()
    assert [p.key for p in info.value.problems] == ["models[0].mappings[0].provider"]


def test_deleting_the_last_entry_leaves_no_trailing_blank_lines() -> None:
    text = SMALL + '\n[[providers]]\nname = "last"\nprovider_type = "z.ai"\n'
    doc = ConfigDocument(text)
    doc.delete_provider("last")
    assert doc.text == SMALL


# -- models -------------------------------------------------------------------------------------------------
def test_change_a_priority_touches_one_line() -> None:
    doc = ConfigDocument(SMALL)
    maps = doc.models()[0]["mappings"]
    maps[1]["priority"] = 0
    doc.upsert_model("glm-4.6", maps)
    assert diff(SMALL, doc.text) == (["priority = 2"], ["priority = 0"])


def test_insert_and_remove_mappings_keep_the_others_comments() -> None:
    doc = ConfigDocument(SMALL)
    zai, backup = doc.models()[0]["mappings"]
    new = {"provider": "or", "actual_model": "first", "priority": 0}
    doc.upsert_model("glm-4.6", [new, zai, backup])
    text = doc.text
    assert text.index('actual_model = "first"') < text.index("# primary")
    assert '# primary\n[[models.mappings]]\nprovider = "zai"' in text
    assert '# backup\n[[models.mappings]]\nprovider = "or"' in text
    parse_config(text)
    removed, added = diff(SMALL, text)
    assert removed == []
    assert [a for a in added if a] == [
        "[[models.mappings]]",
        'provider = "or"',
        'actual_model = "first"',
        "priority = 0",
    ]
    doc.upsert_model("glm-4.6", [zai, backup])  # and back
    assert doc.text == SMALL


def test_append_a_mapping_keeps_blank_lines_between_tables() -> None:
    doc = ConfigDocument(SMALL)
    maps = doc.models()[1]["mappings"]
    doc.upsert_model("minimax-m2", [*maps, {"provider": "zai", "actual_model": "mm", "priority": 9}])
    assert doc.text.endswith(
        'actual_model = "minimax/minimax-m2"\n\n[[models.mappings]]\nprovider = "zai"\nactual_model = "mm"\npriority = 9\n'
    )


def test_remove_every_mapping_then_add_one() -> None:
    doc = ConfigDocument(SMALL)
    doc.upsert_model("minimax-m2", [])
    assert doc.text.endswith('[[models]]\nname = "minimax-m2"\nmappings = []\n')
    assert doc.models()[-1] == {"name": "minimax-m2", "mappings": []}
    doc.upsert_model("minimax-m2", [{"provider": "or", "actual_model": "a"}])
    assert doc.text.endswith(
        '[[models]]\nname = "minimax-m2"\n\n[[models.mappings]]\nprovider = "or"\nactual_model = "a"\n'
    )


def test_inline_mappings_stay_inline() -> None:
    text = '[router]\ndefault = "m"\n\n[[models]]\nname = "m"\nmappings = [{ provider = "p", actual_model = "a" }]\n'
    doc = ConfigDocument(text)
    doc.upsert_model("m", [{"provider": "p", "actual_model": "b"}])
    assert "[[models.mappings]]" not in doc.text
    assert doc.models()[0]["mappings"] == [{"provider": "p", "actual_model": "b"}]


def test_model_keys_other_than_mappings_are_kept() -> None:
    text = '[[models]]\nname = "m"   # mine\ndescription = "fork key"\n'
    doc = ConfigDocument(text)
    doc.upsert_model("m", [{"provider": "p", "actual_model": "a"}])
    assert doc.text.startswith('[[models]]\nname = "m"   # mine\ndescription = "fork key"\n\n[[models.mappings]]')


def test_new_model_goes_after_the_last_model() -> None:
    doc = ConfigDocument(SMALL)
    doc.upsert_model("kimi-k2", [{"provider": "or", "actual_model": "moonshot/kimi-k2", "priority": 1}])
    assert diff(SMALL, doc.text)[0] == []
    assert doc.text.endswith(
        '\n\n[[models]]\nname = "kimi-k2"\n\n[[models.mappings]]\nprovider = "or"\nactual_model = "moonshot/kimi-k2"\npriority = 1\n'
    )
    assert parse_config(doc.text).config.model("KIMI-K2") is not None


def test_rename_model_updates_router_slots_only() -> None:
    text = SMALL.replace('think = ""', 'think = "GLM-4.6"\nauto_map_regex = "glm-4.6"')
    doc = ConfigDocument(text)
    doc.upsert_model("glm-5", doc.models()[0]["mappings"], old_name="glm-4.6")
    assert sorted(diff(text, doc.text)[1]) == sorted(['default = "glm-5"', 'name = "glm-5"', 'think = "glm-5"'])
    assert 'auto_map_regex = "glm-4.6"' in doc.text  # not a slot
    assert parse_config(doc.text).config.router.think == "glm-5"


def test_delete_model_takes_its_mappings_and_comments() -> None:
    doc = ConfigDocument(SMALL)
    assert doc.delete_model("GLM-4.6") is True
    assert "# primary" not in doc.text and "# backup" not in doc.text
    expected = ["[server]", "[router]", "providers:zai", "providers:or", "models:minimax-m2", "[[models.mappings]]"]
    assert headers(doc.text) == expected
    assert diff(SMALL, doc.text)[1] == []


def test_interleaved_v06_file_stays_interleaved_after_edits(v06_text: str) -> None:
    doc = ConfigDocument(v06_text)
    order = headers(v06_text)
    doc.set_value("router", "long_context", "gemini-2.5-pro")
    doc.upsert_provider("minimax", {**doc.providers()[4], "enabled": False})
    maps = doc.models()[0]["mappings"]
    doc.upsert_model("claude-opus-4.1", list(reversed(maps)))
    assert headers(doc.text) == order
    text = doc.text
    assert text.index("# Priority 2: Fallback to GLM") < text.index("# Priority 1: OAuth provider")  # moved along
    cfg = parse_config(text).config
    assert cfg.router.long_context == "gemini-2.5-pro"
    assert cfg.provider("minimax").enabled is False  # type: ignore[union-attr]
    doc.upsert_model("claude-opus-4.1", maps)  # back again: byte for byte
    doc.upsert_provider("minimax", {**doc.providers()[4], "enabled": True})
    doc.set_value("router", "long_context", None)
    assert doc.text == v06_text


def test_crlf_file_keeps_crlf_after_an_edit() -> None:
    text = SMALL.replace("\n", "\r\n")
    doc = ConfigDocument(text)
    doc.set_value("router", "think", "minimax-m2")
    doc.upsert_provider("new", {"provider_type": "z.ai"})
    assert "\n" not in doc.text.replace("\r\n", "")
    assert 'think = "minimax-m2"\r\n' in doc.text


def test_not_valid_toml_segment_is_a_config_error() -> None:
    doc = ConfigDocument('[router]\ndefault = "m"\n\n[[providers]]\nname = \n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        doc.providers()


# -- saving ---------------------------------------------------------------------------------------------------
def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_save_validates_then_writes_with_one_backup(write_config: Callable[[str], Path], v06_text: str) -> None:
    path = write_config(v06_text)
    doc = ConfigDocument.load(path)
    doc.set_value("router", "think", "glm-4.6")
    doc.save()
    first = path.read_text()
    doc.set_value("router", "think", "kimi-k2-thinking")
    result = doc.save()
    assert result.config.router.think == "kimi-k2-thinking"
    assert _names(path.parent) == ["config.toml", "config.toml.bak"]
    assert (path.parent / "config.toml.bak").read_text() == first


def test_invalid_edit_raises_and_leaves_the_file_untouched(write_config: Callable[[str], Path]) -> None:
    path = write_config(SMALL)
    before = path.stat()
    doc = ConfigDocument.load(path)
    doc.set_value("router", "think", "no-such-model")
    with pytest.raises(ConfigError) as info:
        doc.save()
    assert [p.key for p in info.value.problems] == ["router.think"]
    assert info.value.problems[0].file == str(path)
    assert path.read_text() == SMALL
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert _names(path.parent) == ["config.toml"]  # no .bak, no temp file


def test_failed_replace_never_truncates(write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(SMALL)
    doc = ConfigDocument.load(path)
    doc.set_value("router", "think", "minimax-m2")
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        if Path(dst) == path:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(ConfigError, match="cannot write the config"):
        doc.save()
    assert path.read_text() == SMALL
    assert set(_names(path.parent)) <= {"config.toml", "config.toml.bak"}
    assert not [n for n in _names(path.parent) if n.endswith(".tmp")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_a_config_error(write_config: Callable[[str], Path]) -> None:
    path = write_config(SMALL)
    doc = ConfigDocument.load(path)
    doc.set_value("router", "think", "minimax-m2")
    path.parent.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="cannot write the config"):
            doc.save()
    finally:
        path.parent.chmod(0o700)
    assert path.read_text() == SMALL


def test_failed_temp_write_never_truncates(
    write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same failure as a read-only folder or a full disk, forced so it also happens as root."""
    path = write_config(SMALL)
    doc = ConfigDocument.load(path)
    doc.set_value("router", "think", "minimax-m2")

    def fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(ConfigError, match="Input/output error"):
        doc.save()
    monkeypatch.undo()
    assert path.read_text() == SMALL
    assert _names(path.parent) == ["config.toml"]


def test_save_keeps_the_owners_mode_drops_the_others_and_writes_new_files_0600(
    write_config: Callable[[str], Path],
) -> None:
    """A config may hold literal keys: a save never leaves it (or its .bak) readable by anyone else."""
    path = write_config(SMALL)
    path.chmod(0o644)
    ConfigDocument.load(path).save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name(path.name + ".bak").stat().st_mode) == 0o600
    path.chmod(0o400)
    ConfigDocument.load(path).save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    new = path.parent / "new.toml"
    ConfigDocument(SMALL).save(new)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert new.read_text() == SMALL


def test_save_through_a_symlink_keeps_the_link(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    real = write_config(SMALL, "real.toml")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    doc = ConfigDocument.load(link)
    doc.set_value("router", "think", "minimax-m2")
    doc.save()
    assert link.is_symlink()
    assert 'think = "minimax-m2"' in real.read_text()
    assert (real.parent / "real.toml.bak").read_text() == SMALL


def test_crlf_file_is_written_back_with_crlf(write_config: Callable[[str], Path]) -> None:
    text = SMALL.replace("\n", "\r\n")
    path = write_config(text)
    ConfigDocument.load(path).save()
    assert path.read_bytes() == text.encode()


def test_load_of_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        ConfigDocument.load(tmp_path / "nope.toml")


def test_save_without_a_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no path"):
        ConfigDocument(SMALL).save()


def test_atomic_write_creates_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.toml"
    atomic_write(target, "x = 1\n", backup=False)
    assert target.read_text() == "x = 1\n"
    atomic_write(target, "x = 2\n", backup=False)
    assert _names(target.parent) == ["c.toml"]


def test_a_stale_document_is_never_saved_over_another_writers_change(
    write_config: Callable[[str], Path],
) -> None:
    """Two commands load the file; the first saves; the second, saving from its stale copy, would bring
    back what the first removed. It is refused, and the file keeps the first one's change."""
    path = write_config(default_config_text())
    first, second = ConfigDocument.load(path), ConfigDocument.load(path)
    first.set_value("server", "port", 14000)
    first.save()
    second.set_value("server", "log_level", "debug")
    with pytest.raises(ConfigError) as refused:
        second.save()
    assert "changed since it was read" in str(refused.value.problems[0])
    assert "port = 14000" in path.read_text() and 'log_level = "debug"' not in path.read_text()
    again = ConfigDocument.load(path)  # started over from the file as it is now: both changes kept
    again.set_value("server", "log_level", "debug")
    again.save()
    again.set_value("server", "port", 14001)
    again.save()  # its own save is what it read now
    assert "port = 14001" in path.read_text() and 'log_level = "debug"' in path.read_text()


def test_edit_changes_the_file_as_it_is_under_the_lock(write_config: Callable[[str], Path]) -> None:
    path = write_config(default_config_text())
    stale = ConfigDocument.load(path)
    ConfigDocument.edit(path, lambda doc: doc.set_value("server", "port", 14000))
    ConfigDocument.edit(path, lambda doc: doc.set_value("server", "log_level", "debug"))
    assert "port = 14000" in path.read_text() and 'log_level = "debug"' in path.read_text()
    with pytest.raises(ConfigError):
        stale.save()
