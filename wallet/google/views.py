"""Google Wallet endpoints: the save link (a redirect to Google) and the program logos Google fetches."""

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from loyalty.api.throttling import PublicThrottle
from loyalty.exceptions import CardInactive, CardNotFound
from loyalty.selectors.wallet import card_get_by_public_token, program_get_for_wallet
from loyalty_site.api.schema import ErrorSerializer
from wallet.logos import program_logo_bytes

from .client import GoogleWalletError
from .exceptions import GoogleWalletOff, GoogleWalletSaveFailed
from .logos import default_logo_png, program_logo_png
from .save_links import SaveLinkTooLong
from .services import GoogleWalletNotConfigured, google_save_url

logger = logging.getLogger(__name__)


class GoogleSaveLinkView(APIView):
    """Follow the "Add to Google Wallet" button: create or update the pass, then redirect to Google."""

    authentication_classes = []
    permission_classes = [AllowAny]
    # The public API's per-IP budget, counted in the shared cache like the other public reads.
    throttle_classes = [PublicThrottle]

    @extend_schema(
        summary="Save a card to Google Wallet",
        responses={
            302: OpenApiResponse(description="Redirect to https://pay.google.com/gp/v/save/<signed JWT>"),
            404: OpenApiResponse(ErrorSerializer, description="Unknown card, or Google Wallet is not configured"),
            422: OpenApiResponse(ErrorSerializer, description="CARD_INACTIVE: the card is deactivated"),
            429: OpenApiResponse(ErrorSerializer, description="THROTTLED: too many requests from this address"),
            503: OpenApiResponse(ErrorSerializer, description="Google Wallet could not be reached"),
        },
    )
    def get(self, request, public_token: str):
        card = card_get_by_public_token(public_token=public_token)
        if card is None:
            raise CardNotFound()
        if not card.is_active:
            raise CardInactive()
        try:
            url = google_save_url(card=card)
        except GoogleWalletNotConfigured:
            raise GoogleWalletOff() from None
        except (GoogleWalletError, SaveLinkTooLong) as error:
            logger.error("google_wallet.save_link_failed", extra={"card_id": card.pk, "error": str(error)})
            raise GoogleWalletSaveFailed() from None
        response = HttpResponseRedirect(url)
        # The link holds a fresh signature for this card: no cache may keep it.
        response["Cache-Control"] = "no-store"
        return response


@require_GET
@cache_control(public=True, max_age=86400)
def default_logo(request):
    """The logo Google fetches for a program that has none of its own."""
    return HttpResponse(default_logo_png(), content_type="image/png")


@require_GET
@cache_control(public=True, max_age=86400)
def program_logo(request, program_id: int, version: str):
    """The program's upload, squared and padded for Google's circle (``wallet/google/logos.py``).

    ``version`` changes with the upload and the colour (``payloads.program_logo_url``) so that Google
    fetches the new image; whatever it says, the current logo is served.
    """
    try:
        program = program_get_for_wallet(program_id=program_id)
    except ObjectDoesNotExist:
        raise Http404 from None
    logo = program_logo_bytes(program)
    squared = program_logo_png(logo, program.background_color) if logo is not None else None
    return HttpResponse(squared or default_logo_png(), content_type="image/png")
