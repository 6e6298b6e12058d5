"""The prompt panel: prompt and negative prompt, presets, syntax diagnostics."""
