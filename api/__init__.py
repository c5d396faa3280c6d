"""HTTP service (FastAPI) around the domain layer."""
