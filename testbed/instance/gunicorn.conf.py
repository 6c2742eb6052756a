"""gunicorn settings of the stand-in's web container, with the values upstream BookWyrm uses
(2 gthread workers, threads up to the CPU count, workers recycled after about 1000 requests).
Upstream binds [::]:8000 on its IPv6 compose network; the bed's networks have no IPv6 (the
engine here has no IPv6 pool), so this binds 0.0.0.0:8000."""

import multiprocessing
import os

bind = "0.0.0.0:8000"
workers = 2
threads = min(multiprocessing.cpu_count(), 12)
max_requests = 1000
max_requests_jitter = 100
worker_class = "gthread"
if os.environ.get("DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
    reload = True
