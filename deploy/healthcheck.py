"""The image's HEALTHCHECK: exit 0 when URL (default: the API's /healthz) answers 200.

Standard library only, so it runs in the final image, which has no curl:
    python deploy/healthcheck.py [URL]
A worker passes its SDK metrics endpoint, http://127.0.0.1:9464/metrics.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/healthz"
TIMEOUT_SECONDS = 4


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_URL
    ok = healthy(url)
    if not ok:
        sys.stderr.write(f"unhealthy: {url}\n")
    sys.exit(0 if ok else 1)
