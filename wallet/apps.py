from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "wallet"
    verbose_name = _("Wallet passes")

    def ready(self):
        import wallet.checks  # noqa: F401  (registers the wallet configuration's system checks)
