"""Transport layer: the FastAPI application, its routers, settings and the CLI."""
