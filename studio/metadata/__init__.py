"""Image metadata, torch- and Qt-free: the A1111 infotext the studio writes, the readers of every other tool's
PNG/JPEG/WebP metadata, PNG chunks and saving pictures with their settings.
"""
