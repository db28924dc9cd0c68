"""The mnist-tui App: it makes what lives as long as it does (the run store, the executor, the
dashboard's state, the searches it starts) and hands them to the dashboard screen
(tui.widgets.dashboard_screen). It keeps only the global keys: `?` every key, `q` quit, and the
command palette (ctrl+p); each screen and widget owns the rest.

Nothing here imports torch: the first frame does not wait for it, and no CUDA context is made.
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from core.execution.executor import Executor
from core.execution.launcher import lower_thread_priority
from core.runstore.store import RunStore, resolve_runs_dir
from tui.commands import binding_commands, reproduce_command
from tui.dashboard_state import DashboardState
from tui.search_launch import SearchLauncher
from tui.terminal_guard import TerminalGuard
from tui.widgets.dashboard_screen import DashboardScreen, DeviceProbe


class MnistTui(App):
    CSS_PATH = "app.tcss"
    TITLE = "mnist-tui"
    BINDINGS = [
        Binding("question_mark", "help", "Keys", key_display="?", tooltip="Every key on one screen"),
        Binding("q", "quit", "Quit", tooltip="Quit (asks whether runs keep training in the background)"),
    ]

    def __init__(self, *, runs_dir=None, data_dir=None, device_probe: DeviceProbe | None = None, handle_signals: bool = False, warm: bool = True,
                 ray_address: str | None = None) -> None:
        super().__init__()
        self.store = RunStore(resolve_runs_dir(runs_dir))
        self.executor = Executor(self.store, data_dir, ray_address=ray_address, warm=warm)
        self.state = DashboardState(no_color=self.no_color)
        self.searches = SearchLauncher(self.store.root, data_dir, ray_address)
        self._screen_args = (data_dir, device_probe)
        self.dashboard: DashboardScreen | None = None  # made with the first screen, inside the running app
        self.guard = TerminalGuard(self.leave, self) if handle_signals else None
        self._leaving = False

    def get_default_screen(self) -> DashboardScreen:
        self.dashboard = DashboardScreen(self.state, self.store, self.executor, self.searches, *self._screen_args)
        return self.dashboard

    def on_mount(self) -> None:
        if self.guard is not None:
            self.guard.install()
            lower_thread_priority()  # the real terminal app: training gets the CPU first

    def on_unmount(self) -> None:
        self.executor.close()  # the warm runner exits; runs train on

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "help":  # the dashboard's keys: over a dialog or the inspect screen they rest
            return self.screen is self.dashboard
        return True

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        if screen is self.dashboard:
            owners = [(self, self.BINDINGS), (screen, DashboardScreen.KEYS), (screen.panel, type(screen.panel).KEYS),
                      (screen.table, type(screen.table).BINDINGS)]
            yield from binding_commands(self, owners)
            yield reproduce_command(screen.action_reproduce)

    def action_help(self) -> None:
        from tui.widgets.help_screen import dashboard_help

        self.push_screen(dashboard_help(self.BINDINGS))

    async def action_quit(self) -> None:
        """With runs training or queued, ask: keep them training in the background (default) or stop them."""
        queue = self.executor.queue
        training, queued, searches = len(queue.running), len(queue.waiting), len(self.searches.live())
        if not training and not queued and not searches:
            self.exit()
            return

        def answer(choice: str | None) -> None:
            if choice is not None:
                self.leave("the dashboard was closed", 0, keep=choice == "keep")

        from tui.widgets.quit_dialog import QuitDialog

        self.push_screen(QuitDialog(training, queued, searches), answer)

    def leave(self, reason: str, code: int, keep: bool = True) -> None:
        """Exit; the runs train on and the queue goes to a detached runner (keep), or both stop
        (and so do the searches this dashboard started). Also what a lost terminal does (tui.terminal_guard)."""
        if self._leaving:
            return
        self._leaving = True
        if self.dashboard is not None:
            self.dashboard.control.leave(reason, keep)
        if not keep:
            self.searches.stop_all()
        self.exit(return_code=code)


def create_app(*, runs_dir=None, data_dir=None, device_probe: DeviceProbe | None = None, handle_signals: bool = False, warm: bool = True,
               ray_address: str | None = None) -> MnistTui:
    """The one factory the CLI and the tests share (the CLI also asks for the terminal guard).

    `warm=False` starts a runner only when a run needs one (tests: fewer torch imports on 2 cores).
    `ray_address`: every run is a task on that Ray cluster (core.execution.ray_driver).
    """
    return MnistTui(runs_dir=runs_dir, data_dir=data_dir, device_probe=device_probe, handle_signals=handle_signals, warm=warm,
                    ray_address=ray_address)
