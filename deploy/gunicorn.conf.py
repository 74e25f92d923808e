"""gunicorn settings of the gateway; every value can be overridden from the environment."""

import os

# Threads serve requests; each worker process creates its own RPC pool after the fork.
worker_class = "gthread"
workers = int(os.environ.get("SAMEN_GATEWAY_WORKERS", "2"))
threads = int(os.environ.get("SAMEN_GATEWAY_THREADS", "16"))
timeout = int(os.environ.get("SAMEN_GATEWAY_WORKER_TIMEOUT", "60"))
graceful_timeout = 15
keepalive = 5
# Request bodies are limited by Flask's MAX_CONTENT_LENGTH; these bound the request line and headers.
limit_request_line = 8190
limit_request_fields = 100
accesslog = None
errorlog = "-"
loglevel = os.environ.get("SAMEN_LOG_LEVEL", "info").lower()
