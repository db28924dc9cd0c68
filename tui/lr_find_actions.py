"""ctrl+l in the run form: the learning-rate range test (tui.widgets.lr_find_screen), whose
suggested rate goes into the form's learning rate. Not a run: nothing reaches the table."""

from __future__ import annotations

from textual.widgets import Input

from tui.widgets.run_form import RunForm


class LrFindActions:
    """Mixed into the App (tui.app), which provides data_dir."""

    def on_run_form_lr_find_requested(self, message: RunForm.LrFindRequested) -> None:
        from tui.widgets.lr_find_screen import LrFindScreen  # imported when first used: the first frame does not wait

        form = self.query_one("#form", RunForm)

        def use(rate: str | None) -> None:
            if rate:
                field = form.query_one("#f-lr", Input)
                field.value = rate  # validated as if typed (Input.Changed)
                field.focus()
                self.notify(f"learn rate {rate}, as the range test suggested", markup=False, timeout=3)

        self.push_screen(LrFindScreen(form.values(), self.data_dir), use)
