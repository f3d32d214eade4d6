"""Errors the Google Wallet endpoints answer with (the API's one error shape)."""

from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import LoyaltyError, NotFound


class GoogleWalletOff(NotFound):
    code = "GOOGLE_WALLET_NOT_CONFIGURED"
    message = _("Google Wallet is not available on this site.")


class GoogleWalletSaveFailed(LoyaltyError):
    status = 503
    code = "GOOGLE_WALLET_UNAVAILABLE"
    message = _("Google Wallet could not be reached. Please try again in a few minutes.")
