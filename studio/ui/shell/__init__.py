"""The window itself: main window, menus, theme, icons, messages, shortcuts, dropping images."""
