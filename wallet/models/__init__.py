from .apple import AppleDeviceRegistration, ApplePass
from .google import GoogleWalletClass, GoogleWalletObject

__all__ = ["AppleDeviceRegistration", "ApplePass", "GoogleWalletClass", "GoogleWalletObject"]
