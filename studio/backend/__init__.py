"""The backend seam: every engine behind one interface (``protocol.Backend``), speaking typed events.

``local.LocalBackend`` runs the diffusers engine in this process (the CLI); ``process.ProcessBackend`` runs it in
a child process (the window). ``factory.backend_from_settings`` makes either from the preferences. No Qt here:
the window's state turns the events into signals.
"""
