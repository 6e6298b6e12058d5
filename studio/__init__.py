"""Diffusion Studio: a desktop AI image studio for artists."""

__version__ = "0.1.0"
