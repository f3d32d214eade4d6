"""Who may call what: store tokens by role (staff < manager < owner), platform administrators."""

from rest_framework.permissions import BasePermission

from staff.models import Role

RANK = {Role.STAFF: 0, Role.MANAGER: 1, Role.OWNER: 2}


def _store_token(request):
    token = request.auth
    if token is None or getattr(token, "store_id", None) is None or getattr(token, "membership", None) is None:
        return None
    return token


class IsStoreMember(BasePermission):
    """A token bound to a store (``staff/services/tokens`` already checked the membership covers it)."""

    message = "This endpoint needs a store token (POST /api/v1/auth/token with a store_code)."

    def has_permission(self, request, view):
        return _store_token(request) is not None


def role_at_least(minimum: str) -> type[BasePermission]:
    class HasRole(IsStoreMember):
        message = {
            Role.MANAGER: "Only owners and managers may do this.",
            Role.OWNER: "Only the owner may do this.",
        }.get(minimum, IsStoreMember.message)

        def has_permission(self, request, view):
            token = _store_token(request)
            return token is not None and RANK.get(token.membership.role, -1) >= RANK[minimum]

    HasRole.__name__ = f"HasRoleAtLeast{minimum.title()}"
    return HasRole


IsManagerOrOwner = role_at_least(Role.MANAGER)
IsOwner = role_at_least(Role.OWNER)


class IsPlatformAdmin(BasePermission):
    """A superuser's token without a store: the platform-admin API."""

    message = "Only platform administrators (with an admin token, without store_code) may do this."

    def has_permission(self, request, view):
        token = request.auth
        return (
            token is not None
            and getattr(token, "store_id", 1) is None
            and request.user is not None
            and request.user.is_superuser
        )
