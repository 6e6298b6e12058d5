"""The canvases: the result view, the sketch canvas and its tools, the inpainting mask."""
