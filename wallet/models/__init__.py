from .apple import AppleDeviceRegistration, ApplePass
from .credentials import CredentialExpiryWarning
from .google import GoogleWalletClass, GoogleWalletObject

__all__ = ["AppleDeviceRegistration", "ApplePass", "CredentialExpiryWarning", "GoogleWalletClass", "GoogleWalletObject"]
