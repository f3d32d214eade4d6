from .apple import ApplePass, AppleDeviceRegistration
from .google import GoogleWalletClass, GoogleWalletObject

__all__ = ["AppleDeviceRegistration", "ApplePass", "GoogleWalletClass", "GoogleWalletObject"]
