from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from staff.services.tokens import token_issue, token_revoke


class LoginRateThrottle(AnonRateThrottle):
    """Per client IP; counts every attempt so guessing passwords is slow."""

    scope = "login"


class TokenRequestSerializer(serializers.Serializer):
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

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenResponseSerializer}, auth=[])
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = token_issue(
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            store_code=data.validated_data.get("store_code") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        store = issued.token.store
        body = {
            "token": issued.key,
            "store": {"code": store.code, "name": store.name} if store else None,
            "merchant": {"id": store.merchant_id, "name": store.merchant.name} if store else None,
            "role": issued.role,
            "expires_at": issued.token.expires_at,
        }
        return Response(TokenResponseSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
