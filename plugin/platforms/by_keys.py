"""What a platform whose stores are connected by URL and keys (web/connect.py) answers to the
account connect flow (web/app_connect.py) it does not offer."""

from __future__ import annotations

from plugin.errors import ConnectError
from plugin.ports import AppCredentials, AppInstall, NonceClaims


class ConnectedByKeys:
    """Mixed into such a platform's driver (`plugin.ports.PlatformDriver`)."""

    label: str
    account_page: str | None = None
    account_label: str = "Store"

    def account_name(self, typed: str) -> str:
        raise ConnectError(
            f"{self.label} stores are connected with their URL and keys", reason="not_offered"
        )

    def app_install(
        self, app: AppCredentials, nonces: NonceClaims, *, allow_private: bool
    ) -> AppInstall:
        raise ConnectError(
            f"{self.label} stores are connected with their URL and keys",
            reason="oauth_not_configured",
        )
