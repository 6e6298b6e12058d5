"""OpenPose poses for ControlNet, with no Qt: the model (``person``, ``pose``), the JSON format (``pose_json``),
the control image (``render``) and the shipped presets (``presets``)."""
