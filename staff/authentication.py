from rest_framework import authentication, exceptions

from staff.services.tokens import token_authenticate


class HashedTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` against :class:`staff.models.ApiToken` (hashed keys).

    ``request.auth`` is the ApiToken; views read the store and membership from it.
    """

    def authenticate_credentials(self, key):
        token = token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        return (token.user, token)
