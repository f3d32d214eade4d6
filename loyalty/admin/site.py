"""The back-office AdminSite: who may enter, and the dashboard as its index."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .dashboard import dashboard_context
from .scoping import back_office_user, back_office_user_for


class BackOfficeAuthenticationForm(AdminAuthenticationForm):
    """Refuses staff accounts at the login form itself, so they never get a back-office session."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not back_office_user_for(user).may_use_back_office:
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class BackOfficeSite(admin.AdminSite):
    site_header = _("Loyalty back office")
    site_title = _("Loyalty back office")
    index_title = _("Dashboard")
    index_template = "admin/back_office/dashboard.html"
    login_form = BackOfficeAuthenticationForm
    site_url = None  # there is no public home page to "view"

    def has_permission(self, request):
        """Owners, managers and platform administrators; never a staff (till) account."""
        return back_office_user(request).may_use_back_office

    def index(self, request, extra_context=None):
        return super().index(request, {**dashboard_context(request), **(extra_context or {})})
