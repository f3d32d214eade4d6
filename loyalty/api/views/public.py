"""Public API: ``/api/v1/loyalty/`` — no authentication, throttled per client IP.

The storefront shows what a poster in the shop would: never ids, wallet
identifiers or anything about customers. Enrollment never reveals whether
someone else's card exists beyond "check your e-mail": the existing card's
link goes to that card's owner only, and so does a new card made for an
e-mail the merchant already knew (as on the join page).
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from loyalty.api import examples as ex
from loyalty.api import serializers as s
from loyalty.api.context import public_actor
from loyalty.api.throttling import EnrollThrottle, PublicThrottle
from loyalty.api.views.base import validated
from loyalty.exceptions import AlreadyEnrolled
from loyalty.selectors.cards import storefront_get
from loyalty.selectors.customer_pages import card_for_link_email
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.enrollment import customer_enroll
from loyalty.services.notifications import CardLinkReason, card_link_send, card_page_url
from loyalty.services.wallet import wallet_links_get
from loyalty_site.api.schema import error_responses

STORE_CODE = OpenApiParameter("store_code", str, OpenApiParameter.PATH, description="The store's public code.")


@extend_schema(tags=["public"])
class PublicViewSet(viewsets.GenericViewSet):
    authentication_classes = []
    permission_classes = [AllowAny]
    lookup_field = "store_code"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,64}"

    @staticmethod
    def _check_email():
        return Response(s.CheckEmailSerializer({"status": "check_email"}).data, status=status.HTTP_202_ACCEPTED)

    def get_throttles(self):
        return [EnrollThrottle()] if self.action == "enroll" else [PublicThrottle()]

    @extend_schema(
        summary="The storefront view of a store's program",
        parameters=[STORE_CODE],
        responses={
            200: s.StorefrontSerializer,
            **error_responses("STORE_NOT_FOUND", "PROGRAM_NOT_FOUND", authenticated=False),
        },
        examples=[ex.response(ex.STOREFRONT)],
        auth=[],
    )
    def retrieve(self, request, store_code):
        store, program = storefront_get(store_code=store_code)
        enrollment_open = merchant_settings_get(merchant=store.merchant).self_enrollment_open
        body = s.storefront(store=store, program=program, enrollment_open=enrollment_open)
        return Response(s.StorefrontSerializer(body).data)

    @extend_schema(
        summary="Join the program at this store",
        parameters=[STORE_CODE],
        request=s.PublicEnrollRequest,
        responses={
            201: OpenApiResponse(s.PublicEnrolledSerializer, description="A new customer's new card."),
            202: OpenApiResponse(
                s.CheckEmailSerializer,
                description="This e-mail belongs to a known customer: the link to their card was e-mailed there.",
            ),
            **error_responses("STORE_NOT_FOUND", "PROGRAM_NOT_FOUND", "ENROLLMENT_CLOSED", authenticated=False),
        },
        examples=[
            ex.request(
                {
                    "email": "new.customer@example.com",
                    "full_name": "New Customer",
                    "language": "fr",
                    "accept_terms": True,
                    "marketing_consent": False,
                }
            ),
            ex.response(
                {
                    "card_url": "https://loyalty.example.com/fr/card/Yl0m3c8Pq1W2e4R5t6Y7u8I9o0P1a2S3/",
                    "apple_pass_url": "https://loyalty.example.com/api/v1/loyalty/passes/apple/3F2A9C7D1B.pkpass",
                    "google_save_url": "https://pay.google.com/gp/v/save/eyJhbGciOi...",
                },
                name="New card",
                status_codes=["201"],
            ),
            ex.response({"status": "check_email"}, name="Already enrolled", status_codes=["202"]),
        ],
        auth=[],
    )
    def enroll(self, request, store_code):
        store, _program = storefront_get(store_code=store_code)
        data = validated(s.PublicEnrollRequest, request.data)
        try:
            enrollment = customer_enroll(
                actor=public_actor(request, store=store),
                email=data["email"],
                full_name=data["full_name"],
                phone=data["phone"],
                language=data.get("language", ""),
                marketing_consent=data["marketing_consent"],
                birthday_month=data["birthday_month"],
                birthday_day=data["birthday_day"],
            )
        except AlreadyEnrolled as already:
            card = card_for_link_email(merchant=store.merchant, card_id=already.details["card_id"])
            if card is not None:
                # At most once per card every 10 minutes, shared with the join page: no inbox flooding.
                card_link_send(card=card, reason=CardLinkReason.ALREADY_ENROLLED)
            return self._check_email()
        card = enrollment.card
        if not enrollment.customer_created:
            # The e-mail belonged to a customer already (created by the shop, without
            # this program's card): the card goes to that mailbox, not to this client.
            card_link_send(card=card, reason=CardLinkReason.NEW_CARD)
            return self._check_email()
        body = {"card_url": card_page_url(card), **wallet_links_get(card=card)}
        return Response(s.PublicEnrolledSerializer(body).data, status=status.HTTP_201_CREATED)
