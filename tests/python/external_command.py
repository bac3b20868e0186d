"""Runs `flyte-auth token` the way flytekit does for `admin.authType: ExternalCommand`.

flytekit's own config loader reads the YAML file given as argv[1], and its own
authenticator factory picks the CommandAuthenticator, which runs the configured command with
captured output and takes its stripped stdout as the token. Prints the token it got, or the
flytekit error and exits 3.
"""

import sys

from flytekit.clients.auth.exceptions import AuthenticationError
from flytekit.clients.auth_helper import get_authenticator
from flytekit.configuration import PlatformConfig


def main() -> int:
    cfg = PlatformConfig.auto(sys.argv[1])
    auth = get_authenticator(cfg, None)
    try:
        auth.refresh_credentials()
    except AuthenticationError as e:
        print(f"flytekit AuthenticationError: {e}", file=sys.stderr)
        return 3
    print(type(auth).__name__, file=sys.stderr)
    print(auth.get_credentials().access_token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
