"""The pose editor: the skeleton canvas, its menus and commands."""
