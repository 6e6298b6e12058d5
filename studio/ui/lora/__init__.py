"""The LoRA library panel, its rows and trigger-word chips."""
