"""Models and downloads: first run, the download dialog, the models folder."""
