"""Docker HEALTHCHECK: exit 0 when the server's /healthz answers 200, else 1.

Python's urllib instead of curl, so the runtime images need no package beyond the interpreter.
Kubernetes ignores HEALTHCHECK and uses the Deployment's probes; this serves `docker run`.
"""

from __future__ import annotations

import os
import sys
import urllib.request

# Below the HEALTHCHECK --timeout, so a hung server reports itself instead of being killed.
TIMEOUT_S = 3.0


def healthz_url() -> str:
    """The liveness endpoint on loopback, at the port the server was configured with."""
    return f"http://127.0.0.1:{os.environ.get('SERVING_PORT', '8000')}/healthz"


def main() -> int:
    """Probe /healthz once; an HTTP error, a refused connection or a timeout is unhealthy."""
    url = healthz_url()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            status = response.status
    except OSError as error:  # URLError, HTTPError (4xx/5xx) and timeouts are all OSErrors
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
