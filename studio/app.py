"""Starting the studio window: fast first paint, then the engine in the background.

Order matters for the first impression: Qt and the light studio modules load, the window shows with the
restored session, and only then does the worker thread start and import the engine (torch takes seconds).
The event loop is qasync's, so coroutines and Qt share one loop.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from studio.settings import load_settings
from studio.state.app_state import AppState
from studio.state.model_list import ModelList
from studio.state.session import load_session
from studio.state.worker import GenerationWorker

if TYPE_CHECKING:
    from studio.backend.protocol import Backend

log = logging.getLogger("studio.app")


@dataclass
class Studio:
    """The pieces of a running studio, as ``build_studio`` made them."""

    app: QApplication
    state: AppState
    window: Any  # MainWindow

    def start_background(self, warm_up: bool = True) -> None:
        """Start the worker (it imports the engine) and look for models. Call after the window is shown."""
        self.state.worker.start(warm_up=warm_up)
        self.state.refresh_models()


class _Closed(QObject):
    closed = Signal()


def make_application(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("Diffusion Studio")
    app.setOrganizationName("DiffusionStudio")
    app.setApplicationDisplayName("Diffusion Studio")
    return app


def build_studio(
    app: QApplication,
    backend: Backend | None = None,
    discover: Callable | None = None,
    saver: Callable | None = None,
) -> Studio:
    """Create settings, state, worker (not started) and the window, with the last session restored.

    ``backend`` None is the local engine in its own process, as the preferences set it up (tests pass one
    running a fake engine).
    """
    from studio.ui.shell.main_window import MainWindow
    from studio.ui.shell.theme import apply_theme

    settings, settings_problem = load_settings()
    apply_theme(app, settings.theme)
    if backend is None:
        from studio.backend.server_pool import window_backend

        # The artist's ComfyUI servers share the queue (Servers…); with none, the local engine takes every job.
        backend = window_backend(settings)
    loras = None
    if backend.name == "comfyui":  # a server's models and LoRAs come from the server (on the scan threads)
        from studio.state.lora_list import LoraList

        discover = discover or (lambda _dirs, backend=backend: backend.models())
        loras = LoraList(lambda _roots, backend=backend: backend.loras())
    offers = None
    if backend.name == "comfyui":  # its ControlNets and samplers too
        from studio.state.servers import PoolOffers

        offers = PoolOffers(backend)
    if backend.name == "servers":  # the servers' models and LoRAs while servers are in use (Servers…)
        from studio.state.servers import PoolOffers, pool_lists

        discover, loras = pool_lists(backend, discover)
        offers = PoolOffers(backend)  # their ControlNets and samplers too, shown in the window below
    worker = GenerationWorker(backend, **({"saver": saver} if saver else {}))
    models = ModelList(discover) if discover else ModelList()
    state = AppState(settings, worker, models, loras=loras)
    worker.setParent(state)
    models.setParent(state)
    state.loras.setParent(state)
    window = MainWindow(state)
    if offers is not None:
        from studio.ui.servers.pool_offers_view import follow_pool_offers

        offers.setParent(state)
        offers.failed.connect(state.error)
        follow_pool_offers(offers, models, window)
    session, session_problem = load_session()
    state.restore(session)
    for problem in (settings_problem, session_problem):
        if problem:
            state.notice(problem)
    return Studio(app=app, state=state, window=window)


UNEXPECTED_UI = (
    "Something went wrong in the studio. Your work is kept; if it happens again, send the log file with the "
    "details below."
)


def install_excepthook(state: AppState) -> None:
    """A bug in a slot must not end the session or print a bare traceback: log it, show it as a message."""
    import traceback

    def hook(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        detail = "".join(traceback.format_exception(kind, value, tb))
        log.error("unexpected error in the window:\n%s", detail)
        try:
            state.error(UNEXPECTED_UI, detail)
        except Exception:  # noqa: BLE001 - the hook itself must never raise
            pass

    sys.excepthook = hook


def run_app(argv: list[str]) -> int:
    """Open the studio window and run until it is closed. Returns the process exit code."""
    from studio.logging_setup import setup_logging

    setup_logging()
    app = make_application(argv)
    import qasync

    studio = build_studio(app)
    install_excepthook(studio.state)
    closed = _Closed()
    app.setQuitOnLastWindowClosed(False)  # the loop ends when our coroutine does, after the worker stopped
    app.lastWindowClosed.connect(closed.closed)

    async def main() -> int:
        done = asyncio.Event()
        closed.closed.connect(done.set)
        studio.window.show()
        QTimer.singleShot(0, studio.start_background)
        await done.wait()
        return 0

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return loop.run_until_complete(main())
    except Exception:  # noqa: BLE001 - the last line of defence: log it, tell the artist where
        log.exception("the studio crashed")
        print(
            f"Diffusion Studio stopped after an unexpected error; details are in {_log_path()}.",
            file=sys.stderr,
        )
        return 1


def _log_path() -> str:
    from studio import paths

    return str(paths.log_file())
