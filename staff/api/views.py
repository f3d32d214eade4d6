from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty_site.api.schema import error_responses
from loyalty_site.api.throttling import LoginThrottle
from loyalty_site.api.times import store_local_times
from loyalty_site.http import user_agent
from loyalty_site.rate_limits import login_failure_count, login_failures_check
from staff.services.tokens import InvalidCredentials, token_issue, token_revoke

# Kept under its old name: per client IP, every attempt counts, so guessing passwords is slow.
LoginRateThrottle = LoginThrottle


class TokenRequestSerializer(serializers.Serializer):
    class Meta:
        ref_name = "Token"  # the schema appends "Request" itself

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)
    store_code = serializers.SlugField(max_length=64, required=False, allow_blank=True)


class NamedStoreSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class NamedMerchantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    store = NamedStoreSerializer(allow_null=True)
    merchant = NamedMerchantSerializer(allow_null=True)
    role = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class TokenView(APIView):
    """Issue (POST) and revoke (DELETE) the scanner app's API token."""

    def get_authenticators(self):
        if self.request is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_throttles(self):
        return [LoginRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        tags=["auth"],
        summary="Get a token for a store (or, for a platform administrator without store_code, for the admin API)",
        request=TokenRequestSerializer,
        responses={201: TokenResponseSerializer, **error_responses("NOT_AUTHENTICATED", "PERMISSION_DENIED")},
        examples=[
            OpenApiExample(
                "Request",
                value={"username": "cafe-staff", "password": "staff-demo-2026", "store_code": "demo-station"},
                request_only=True,
            ),
            OpenApiExample(
                "Response",
                value={
                    "token": "Zq3v0m1c5r8W9xYbT2nLk4HfJd7sPqA6eUoRiGtN0yM",
                    "store": {"code": "demo-station", "name": "Demo Café — Gare"},
                    "merchant": {"id": 1, "name": "Demo Café"},
                    "role": "staff",
                    "expires_at": "2026-04-13T09:00:00+02:00",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
        auth=[],
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        # Failed logins per username, on the back office's counter: another address does not buy more guesses.
        failures = login_failures_check(username=username)
        if not failures.allowed:
            login_failure_count(username=username)
            raise Throttled(wait=failures.retry_after_seconds)
        try:
            issued = token_issue(
                username=username,
                password=data.validated_data["password"],
                store_code=data.validated_data.get("store_code") or None,
                user_agent=user_agent(request),
            )
        except InvalidCredentials:
            login_failure_count(username=username)
            raise
        store = issued.token.store
        body = {
            "token": issued.key,
            "store": {"code": store.code, "name": store.name} if store else None,
            "merchant": {"id": store.merchant_id, "name": store.merchant.name} if store else None,
            "role": issued.role,
            "expires_at": issued.token.expires_at,
        }
        with store_local_times(store):
            return Response(TokenResponseSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["auth"], summary="Revoke the calling token", request=None, responses={204: None, **error_responses()}
    )
    def delete(self, request):
        token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
