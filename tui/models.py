"""Models tab: each model, and its mappings in the order the proxy tries them.

Left, the models; right, the selected model's mappings (priority 1 is tried first, the others are
fallbacks). Moving a mapping rewrites the priorities as 1, 2, 3... so what you see is what runs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from config.schema import Config, ModelConfig
from tui import format as fmt
from tui.base import CcmView
from tui.modals.confirm import ConfirmScreen
from tui.modals.model_form import ModelEdit, ModelForm


class ModelsView(CcmView):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add model", id="models.add", tooltip="Add a model with its first mapping"),
        Binding("f", "add_mapping", "Fallback", id="models.add_mapping", tooltip="Add a mapping to this model"),
        Binding("e", "edit", "Edit", id="models.edit", tooltip="Rename the model, or edit the mapping"),
        Binding("d", "delete", "Delete", id="models.delete", tooltip="Delete the model, or the mapping"),
        Binding("shift+up", "move(-1)", "Up", key_display="⇧↑", id="models.up", tooltip="Try this mapping earlier"),
        Binding("shift+down", "move(1)", "Down", key_display="⇧↓", id="models.down", tooltip="Try this mapping later"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="models-columns"):
            with Vertical(id="models-panel", classes="panel") as panel:
                panel.border_title = "Models"
                yield DataTable(id="models-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="mappings-panel", classes="panel") as panel:
                panel.border_title = "Mappings, tried in order"
                yield DataTable(id="mappings-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="models-hint", markup=False)

    def on_mount(self) -> None:
        models = self.query_one("#models-table", DataTable)
        models.add_column("Model", key="name")
        models.add_column("Maps", key="count")
        models.add_column("Router", key="slots")
        mappings = self.query_one("#mappings-table", DataTable)
        for label, key in (("#", "priority"), ("Provider", "provider"), ("Actual model", "actual"), ("Max out", "max")):
            mappings.add_column(label, key=key)
        self.ccm.config_changed.subscribe(self, self._draw)
        if self.ccm.config is not None:
            self._draw(self.ccm.config)

    def default_focus(self) -> Widget | None:
        return self.query_one("#models-table")

    @property
    def models_table(self) -> DataTable[Any]:
        return self.query_one("#models-table", DataTable)

    @property
    def mappings_table(self) -> DataTable[Any]:
        return self.query_one("#mappings-table", DataTable)

    def selected_model(self) -> ModelConfig | None:
        table = self.models_table
        if self.ccm.config is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.ccm.config.model(str(key)) if key else None

    def _mapping_index(self) -> int | None:
        table = self.mappings_table
        return table.cursor_row if table.row_count else None

    def _mappings_focused(self) -> bool:
        return self.app.focused is self.mappings_table

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "move":
            return True if self._mappings_focused() else None
        return True

    # -- drawing ------------------------------------------------------------------------------------------
    def _draw(self, config: Config, select: str | None = None, mapping_row: int | None = None) -> None:
        table = self.models_table
        current = select or (m.name if (m := self.selected_model()) else None)
        table.clear()
        slots: dict[str, list[str]] = {}
        for slot, value in config.router.slots().items():
            if value:
                slots.setdefault(value.lower(), []).append(slot)
        for m in config.models:
            table.add_row(m.name, str(len(m.mappings)), ", ".join(slots.get(m.name.lower(), [])), key=m.name)
        if current and (found := config.model(current)) is not None:
            table.move_cursor(row=table.get_row_index(found.name))
        self._render_mappings(mapping_row)

    @on(DataTable.RowHighlighted, "#models-table")
    def _model_highlighted(self) -> None:
        self._render_mappings()

    def _render_mappings(self, row: int | None = None) -> None:
        table = self.mappings_table
        keep = row if row is not None else table.cursor_row
        table.clear()
        model = self.selected_model()
        hint = self.query_one("#models-hint", Static)
        config = self.ccm.config
        if model is None or config is None:
            hint.update("No models yet: press a to add one.")
            return
        for i, m in enumerate(model.mappings, start=1):
            provider = config.provider(m.provider)
            name = Text(m.provider) if provider is None or provider.enabled else Text(f"{m.provider} (off)", "dim")
            table.add_row(str(i), name, m.actual_model, str(m.max_output_tokens or ""))
        if model.mappings:
            table.move_cursor(row=min(keep, len(model.mappings) - 1))
        chain = " ▸ ".join(f"{m.provider}:{m.actual_model}" for m in model.mappings) or "no mappings: press f"
        hint.update(f"{model.name} → {chain}")

    # -- actions ------------------------------------------------------------------------------------------
    def _providers(self) -> list[str]:
        return [p.name for p in self.ccm.config.providers] if self.ccm.config else []

    def action_add(self) -> None:
        def save(edit: ModelEdit) -> str | None:
            mappings = [edit.mapping] if edit.mapping else []
            error = self.ccm.apply(lambda store: store.save_model(edit.name, mappings), f"model {edit.name} added")
            if error is None and self.ccm.config is not None:
                self._draw(self.ccm.config, select=edit.name)
            return error

        self.app.push_screen(ModelForm(save, self._providers(), title="Add a model"))

    def action_add_mapping(self) -> None:
        model = self.selected_model()
        if model is None:
            self.ccm.say("add a model first (a)", "warning")
            return

        def save(edit: ModelEdit) -> str | None:
            maps = [*self.ccm.store.model_mappings(model.name), edit.mapping]
            error = self.ccm.apply(
                lambda store: store.save_model(model.name, maps, old_name=model.name),  # type: ignore[arg-type]
                f"fallback added to {model.name}",
            )
            if error is None and self.ccm.config is not None:
                self._draw(self.ccm.config, select=model.name, mapping_row=len(maps) - 1)
            return error

        count = len(model.mappings)
        if count:
            title = f"Add a fallback to {model.name} (tried after its {fmt.plural(count, 'mapping')})"
        else:
            title = f"Add a mapping to {model.name}"
        self.app.push_screen(ModelForm(save, self._providers(), mode="mapping", name=model.name, title=title))

    def action_edit(self) -> None:
        model = self.selected_model()
        if model is None:
            return
        if self._mappings_focused() and (index := self._mapping_index()) is not None:
            self._edit_mapping(model, index)
            return

        def save(edit: ModelEdit) -> str | None:
            maps = self.ccm.store.model_mappings(model.name)
            error = self.ccm.apply(
                lambda store: store.save_model(edit.name, maps, old_name=model.name), f"model renamed to {edit.name}"
            )
            if error is None and self.ccm.config is not None:
                self._draw(self.ccm.config, select=edit.name)
            return error

        self.app.push_screen(ModelForm(save, self._providers(), name=model.name, title=f"Rename {model.name}"))

    def _edit_mapping(self, model: ModelConfig, index: int) -> None:
        maps = self.ccm.store.model_mappings(model.name)
        if index >= len(maps):
            return

        def save(edit: ModelEdit) -> str | None:
            assert edit.mapping is not None
            maps[index] = edit.mapping
            return self.ccm.apply(
                lambda store: store.save_model(model.name, maps, old_name=model.name),
                f"mapping {index + 1} of {model.name} updated",
            )

        title = f"Edit mapping {index + 1} of {model.name}"
        form = ModelForm(save, self._providers(), mode="mapping", name=model.name, mapping=maps[index], title=title)
        self.app.push_screen(form)

    def action_delete(self) -> None:
        model = self.selected_model()
        if model is None:
            return
        if self._mappings_focused() and (index := self._mapping_index()) is not None:
            maps = self.ccm.store.model_mappings(model.name)
            if index >= len(maps):
                return
            gone = maps.pop(index)

            def answer_mapping(yes: bool | None) -> None:
                if yes:
                    self.ccm.apply(
                        lambda store: store.save_model(model.name, maps, old_name=model.name),
                        f"mapping {gone['provider']}:{gone['actual_model']} removed from {model.name}",
                    )

            question = f"Remove mapping {gone['provider']}:{gone['actual_model']} from {model.name}?"
            self.app.push_screen(ConfirmScreen(question), answer_mapping)
            return
        slots = self.ccm.store.model_usage(model.name)
        if "default" in slots:
            self.ccm.say(f"{model.name} is the router's default: pick another default first (Router tab)", "error")
            return
        detail = f"The router slots {', '.join(slots)} that use it are turned off." if slots else ""

        def answer(yes: bool | None) -> None:
            if yes:
                self.ccm.apply(lambda store: store.delete_model(model.name), f"model {model.name} deleted")

        self.app.push_screen(ConfirmScreen(f"Delete model {model.name}?", detail), answer)

    def action_move(self, step: int) -> None:
        model = self.selected_model()
        index = self._mapping_index()
        if model is None or index is None or not self._mappings_focused():
            return
        maps = self.ccm.store.model_mappings(model.name)
        target = index + step
        if not 0 <= target < len(maps):
            return
        maps[index], maps[target] = maps[target], maps[index]
        error = self.ccm.apply(
            lambda store: store.save_model(model.name, maps, old_name=model.name),
            f"{maps[target]['provider']}:{maps[target]['actual_model']} is now #{target + 1} for {model.name}",
        )
        if error is None and self.ccm.config is not None:
            self._draw(self.ccm.config, select=model.name, mapping_row=target)
