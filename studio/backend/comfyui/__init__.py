"""ComfyUI servers as a backend: the same requests and events as the local engine, run by a ComfyUI server.

``http_client`` and ``ws_client`` speak its HTTP and WebSocket API (timeouts everywhere, every answer checked by
``answers`` before use); ``connection.check_connection`` says whether a server is usable; ``graph`` turns a
``GenerationRequest`` into a ComfyUI API graph; ``backend.ComfyBackend`` runs jobs on one server. No Qt, no torch.
"""
