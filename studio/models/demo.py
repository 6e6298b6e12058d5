"""What the studio calls its offline demo set, wherever it is shown (the window, the CLI, the PNG metadata)."""

DEMO_LABEL = "random weights — shows the workflow, not a picture"
