"""Pictures and jobs: the gallery, the queue, thumbnails."""
