"""Route handlers under ``/api/v1``; each module exposes ``router``."""
