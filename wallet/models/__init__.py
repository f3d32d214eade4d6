from .apple import AppleDeviceRegistration, ApplePass
from .credentials import CredentialExpiryWarning
from .google import GoogleWalletClass, GoogleWalletMessage, GoogleWalletObject

__all__ = [
    "AppleDeviceRegistration",
    "ApplePass",
    "CredentialExpiryWarning",
    "GoogleWalletClass",
    "GoogleWalletMessage",
    "GoogleWalletObject",
]
