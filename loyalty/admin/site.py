"""The back-office AdminSite: who may enter, how often one may try, and the dashboard as its index."""

import logging

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from loyalty.services.audit import audit_login_record
from loyalty_site.http import client_ip
from loyalty_site.rate_limits import login_attempt_count, login_failure_count, login_failures_check

from .dashboard import dashboard_context
from .scoping import back_office_user, back_office_user_for

logger = logging.getLogger(__name__)


class BackOfficeAuthenticationForm(AdminAuthenticationForm):
    """Refuses staff accounts at the login form itself, so they never get a back-office session."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if self.user_cache is None:  # wrong credentials (a known account refused below is not a guess)
                username = self.cleaned_data.get("username", "")
                login_failure_count(username=username)
                audit_login_record(username=username, outcome="failed", ip_address=client_ip(self.request))
            raise

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

    def login(self, request, extra_context=None):
        if request.method == "POST":
            refusal = self._login_refusal(request)
            if refusal is not None:
                return refusal
        return super().login(request, extra_context)

    def _login_refusal(self, request):
        """A 429 page when this address or this username has tried too often, else None.

        The same counters as ``/api/v1/auth/token`` at ``THROTTLE_LOGIN``: every
        attempt per client IP, and failed attempts per username from any
        address. Once a username's failures reach the limit even its right
        password is refused until the window ends, so guessing gains nothing.
        """
        ip_address = client_ip(request)
        username = self.login_form.base_fields["username"].to_python(request.POST.get("username", ""))
        attempt = login_attempt_count(ip_address=ip_address)
        failures = login_failures_check(username=username)
        if attempt.allowed and failures.allowed:
            return None
        if not failures.allowed:
            failures = login_failure_count(username=username)  # a refused attempt is a failed one
        refusals = [decision for decision in (attempt, failures) if not decision.allowed]
        if any(decision.is_first_refusal for decision in refusals):  # one audit entry per window, not one per request
            outcome = "refused (too many failed attempts for this account)"
            if not attempt.allowed:
                outcome = "refused (too many attempts from this address)"
            audit_login_record(username=username, outcome=outcome, ip_address=ip_address)
        logger.warning("admin.login_throttled", extra={"ip_address": ip_address, "by_address": not attempt.allowed})
        context = {**self.each_context(request), "title": _("Too many attempts")}
        response = TemplateResponse(request, "admin/back_office/login_throttled.html", context, status=429)
        response["Retry-After"] = str(max(decision.retry_after_seconds for decision in refusals))
        return response
