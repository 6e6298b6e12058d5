"""ControlNet inputs: the control panel, its rows, the annotators folder."""
