"""The window's ComfyUI server settings: which servers share the queue, and whether the local engine helps."""
