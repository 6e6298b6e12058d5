"""The main window's menus, shortcuts (from the one ``SHORTCUTS`` table) and the file-dialog actions.

What the entries call on the window is described by ``WindowCommands`` here, so that this module need not
import ``main_window``, which imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QMenu

from studio import paths
from studio.ui.shell import theme
from studio.ui.shell.icons import icon
from studio.ui.shell.shortcuts import SHORTCUTS

if TYPE_CHECKING:
    from studio.state.app_state import AppState
    from studio.ui.canvas.canvas_tabs import CanvasTabs
    from studio.ui.canvas.canvas_view import CanvasView
    from studio.ui.gallery.gallery_panel import GalleryPanel
    from studio.ui.generation.settings_panel import SettingsPanel
    from studio.ui.prompt.prompt_panel import PromptPanel

MODEL_FILES = "Models (*.safetensors *.ckpt *.pt *.pth *.bin);;All files (*)"
IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp);;All files (*)"


class WindowCommands(Protocol):
    """The parts of the main window that the menu entries use: its state, panels and actions."""

    state: AppState
    canvas: CanvasView
    canvases: CanvasTabs
    settings_panel: SettingsPanel
    prompt_panel: PromptPanel
    gallery: GalleryPanel
    shown_path: Path | None

    def generate(self) -> None: ...
    def copy_image(self) -> None: ...
    def paste_settings(self) -> None: ...
    def reuse_shown_seed(self) -> None: ...
    def show_adjacent(self, step: int) -> None: ...
    def show_path(self, path: Path) -> None: ...
    def reuse_image(self, path: Path, seed_only: bool = False) -> None: ...
    def save_shown_image(self, target: Path) -> None: ...


class WindowMenus(QObject):
    """Builds File, Edit, Generate, View and Help on ``window`` and owns the actions that open dialogs.

    ``window`` holds the menu bar and the shortcuts and parents the dialogs; ``commands`` is what the entries
    call. In the app both are the main window, passed twice because one parameter cannot be typed as both a
    ``QMainWindow`` and a ``WindowCommands``.
    """

    def __init__(self, window: QMainWindow, commands: WindowCommands) -> None:
        super().__init__(window)
        self.window = window
        self.commands = commands
        state = commands.state
        bar = window.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "Open image…", self.open_image, "open_image")
        self._action(file, "Save shown image as…", self.save_image, "save_image")
        self._action(file, "Export shown image as JPEG", lambda: self.export_shown("jpeg"), "export_jpeg")
        self._action(file, "Export shown image as WebP", lambda: self.export_shown("webp"), "export_webp")
        file.addSeparator()
        self._action(file, "Add model file…", self.add_model_file, "add_model", "add-model")
        self._action(file, "Add model folder (A1111 / ComfyUI)…", self.add_model_folder, None, "folder")
        self._action(file, "Download model…", lambda: self.download_model(), None, "download")  # not (checked)
        # Looked up when chosen: the window makes its canvases after its menus.
        self._action(
            file, "Download ControlNet…", lambda: commands.canvases.download_controlnet(), None, "download"
        )
        self._action(file, "Models folder…", self.choose_models_folder, None, "folder")
        self._action(file, "Annotators folder…", self.choose_annotators_folder, None, "folder")
        self._action(file, "Servers…", lambda: self.choose_servers())
        file.addSeparator()
        self._action(file, "Choose output folder…", self.choose_output_folder)
        self._action(file, "Open output folder", self.open_output_folder, None, "folder")
        file.addSeparator()
        self._action(file, "Quit", window.close, "quit")
        edit = bar.addMenu("&Edit")
        self._action(edit, "Copy shown image", commands.copy_image, "copy_image")
        self._action(edit, "Paste settings", commands.paste_settings, "paste_settings")
        edit.addSeparator()
        self._action(edit, "Reuse seed of the shown image", commands.reuse_shown_seed, "reuse_seed", "seed")
        self._action(
            edit, "Random seed", lambda: commands.settings_panel.random_seed.setChecked(True), "random_seed"
        )
        self._action(
            edit, "Go to the settings", commands.settings_panel.model.setFocus, "settings", "settings"
        )
        edit.addSeparator()
        self._action(edit, "Preferences…", self.open_preferences, "preferences", "settings")
        run = bar.addMenu("&Generate")
        self.generate = self._action(run, "Generate", commands.generate, "generate", "generate")
        self._action(run, "Add to queue", commands.generate, "queue", "queue")
        self.cancel = self._action(run, "Cancel", state.cancel, "cancel", "cancel")
        self._action(run, "Focus prompt", commands.prompt_panel.prompt.setFocus, "focus_prompt")
        self._action(run, "Performance (VRAM, fast mode, previews)…", self.show_performance)
        view = bar.addMenu("&View")
        self._action(view, "Zoom to fit", commands.canvas.zoom_fit, "zoom_fit", "zoom-fit")
        self._action(view, "Zoom 100 %", commands.canvas.zoom_100, "zoom_100", "zoom-100")
        self._action(view, "Zoom in", lambda: commands.canvas.zoom_by(1.25), "zoom_in")
        self._action(view, "Zoom out", lambda: commands.canvas.zoom_by(0.8), "zoom_out")
        self._action(view, "Previous image", lambda: commands.show_adjacent(-1), "previous_image")
        self._action(view, "Next image", lambda: commands.show_adjacent(1), "next_image")
        view.addSeparator()
        group = QActionGroup(self)
        self.themes: dict[str, QAction] = {}
        for name in theme.THEMES:
            action = self._action(
                view, f"{name.capitalize()} theme", lambda _=False, n=name: self.set_theme(n)
            )
            action.setCheckable(True)
            action.setChecked(name == state.settings.theme)
            group.addAction(action)
            self.themes[name] = action
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "Keyboard shortcuts", self.show_shortcuts, "help", "help")
        self._action(help_menu, "Open log file", self.open_log)

    def _action(
        self, menu: QMenu, text: str, slot, action_id: str | None = None, icon_name: str | None = None
    ):
        action = QAction(text, self.window)
        if action_id:
            action.setObjectName(action_id)
        if icon_name:
            action.setIcon(icon(icon_name))
        keys = [keys for aid, keys, _ in SHORTCUTS if aid == action_id]
        if keys:
            sequences = [QKeySequence(k) for k in keys]
            if action_id == "generate":  # the keypad's Enter too
                sequences.append(QKeySequence("Ctrl+Enter"))
            action.setShortcuts(sequences)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.window.addAction(action)
        return action

    # --- actions ----------------------------------------------------------------------------------------

    def set_theme(self, name: str) -> None:
        theme.apply_theme(QApplication.instance(), name)
        self.commands.state.settings.theme = name
        self.themes[name].setChecked(True)
        self.commands.state.save_settings()

    def add_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Add a model file", str(paths.models_dir()), MODEL_FILES
        )
        if path:
            self.commands.state.add_model_path(Path(path))

    def add_model_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "A model folder, or an A1111 / ComfyUI folder")
        if path:
            folder = Path(path)
            self.commands.state.add_model_path(
                folder, folder_of_models=not (folder / "model_index.json").exists()
            )

    def download_model(self, repo_id: str = "") -> None:
        from studio.ui.generation.performance_box import taesd_downloaded
        from studio.ui.models.download_dialog import DownloadDialog

        state = self.commands.state
        dialog = DownloadDialog(self.window, repo_id=repo_id, models_folder=state.settings.models())
        dialog.model_downloaded.connect(
            lambda path: taesd_downloaded(state, Path(path)) or state.add_model_path(Path(path))
        )
        dialog.open()

    def show_performance(self) -> None:
        from studio.ui.generation.performance_box import PerformanceDialog

        state, status = self.commands.state, self.window.tier_status
        dialog = PerformanceDialog(state, self.window)
        dialog.box.changed.connect(lambda: status.show_settings(state.settings.vram, state.settings.fast_mode))
        dialog.open()
        self.performance_dialog = dialog  # for tests and screenshots

    def choose_models_folder(self) -> None:
        from studio.ui.models.models_folder_dialog import ModelsFolderDialog

        state = self.commands.state
        dialog = ModelsFolderDialog(state.settings.models(), self.window)
        dialog.accepted.connect(lambda: state.set_models_folder(dialog.folder()))
        dialog.open()
        self.models_folder_dialog = dialog  # for tests and screenshots

    def choose_output_folder(self) -> None:
        state = self.commands.state
        path = QFileDialog.getExistingDirectory(
            self.window, "Where to save pictures", str(state.settings.outputs())
        )
        if path:
            state.settings.output_folder = path
            state.save_settings()
            self.commands.gallery.set_folder(Path(path))

    def choose_annotators_folder(self) -> None:
        from studio.ui.control.annotators_dialog import AnnotatorsDialog

        state = self.commands.state
        dialog = AnnotatorsDialog(state.settings.annotators_folder, self.window)
        dialog.accepted.connect(lambda: state.set_annotators_folder(dialog.folder()))
        dialog.open()
        self.annotators_dialog = dialog  # for tests and screenshots

    def open_preferences(self) -> None:
        from studio.ui.generation.performance_box import PerformanceBox
        from studio.ui.shell.preferences_dialog import PreferencesDialog

        state, status = self.commands.state, self.window.tier_status
        dialog = PreferencesDialog(state, self.window)
        dialog.theme_chosen.connect(self.set_theme)
        dialog.output_folder_changed.connect(self.commands.gallery.set_folder)
        box = PerformanceBox(dialog)  # the same box as Generate ▸ Performance…, applied as it is edited
        box.bind(state)
        box.changed.connect(lambda: status.show_settings(state.settings.vram, state.settings.fast_mode))
        dialog.add_page("Performance", box)
        dialog.open()
        self.preferences_dialog = dialog  # for tests and screenshots

    def choose_servers(self) -> None:
        from studio.state.servers import current_servers, use_servers
        from studio.ui.servers.servers_dialog import ServersDialog

        state = self.commands.state
        dialog = ServersDialog(current_servers(state), state.settings.local_fallback, parent=self.window)
        dialog.accepted.connect(lambda: use_servers(state, dialog.entries(), dialog.allow_local()))
        dialog.open()
        self.servers_dialog = dialog  # for tests and screenshots

    def open_output_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.commands.state.settings.outputs())))

    def open_log(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_file())))

    def show_shortcuts(self) -> None:
        from studio.ui.shell.help_dialog import ShortcutsDialog

        ShortcutsDialog(self.window).open()

    def open_image(self) -> None:
        start = str(self.commands.state.settings.outputs())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open an image", start, IMAGE_FILES)
        if path:
            self.commands.show_path(Path(path))
            self.commands.reuse_image(Path(path))

    def save_image(self) -> None:
        commands = self.commands
        if commands.canvas.current_pixmap().isNull():
            commands.state.error("There is no image to save yet: generate one or pick one in the gallery.")
            return
        name = commands.shown_path.name if commands.shown_path else "image.png"
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save image as", str(Path.home() / name), IMAGE_FILES
        )
        if path:
            commands.save_shown_image(Path(path))

    def export_shown(self, fmt: str) -> Path | None:
        """The gallery's "Export as" for the picture shown: a copy in ``exports/`` beside it, settings kept."""
        shown = self.commands.shown_path
        if shown is None:
            self.commands.state.error(
                "There is no saved image shown to export: generate one or pick one in the gallery."
            )
            return None
        return self.commands.gallery.export_image(shown, fmt)

    def choose_init_image(self) -> None:
        start = str(self.commands.state.settings.outputs())
        path, _ = QFileDialog.getOpenFileName(self.window, "Source picture", start, IMAGE_FILES)
        if path:
            self.commands.settings_panel.set_init_image(path)
