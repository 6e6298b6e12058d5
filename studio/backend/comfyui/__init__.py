"""The studio's ComfyUI backend: one server, its connection check, its credentials."""
