"""Google Wallet endpoints: the save link (a redirect to Google) and our default program logo."""

import io
import logging
import math
from functools import lru_cache

from django.http import HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from PIL import Image, ImageDraw
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from loyalty.api.throttling import PublicThrottle
from loyalty.exceptions import CardInactive, CardNotFound
from loyalty.selectors.wallet import card_get_by_public_token
from loyalty_site.api.schema import ErrorSerializer

from .client import GoogleWalletError
from .exceptions import GoogleWalletOff, GoogleWalletSaveFailed
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


@lru_cache(maxsize=1)
def _default_logo_png() -> bytes:
    """A plain loyalty-card mark (Google shows program logos as 660×660 circles)."""
    size = 660
    image = Image.new("RGB", (size, size), "#1F3A5F")
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 150, 510, 510), outline="#FFFFFF", width=36)
    # A five-pointed star inside the ring: "a stamp".
    centre, outer, inner = size / 2, 130, 55
    points = []
    for index in range(10):
        radius = outer if index % 2 == 0 else inner
        angle = math.pi / 2 + index * math.pi / 5
        points.append((centre + radius * math.cos(angle), centre - radius * math.sin(angle)))
    draw.polygon(points, fill="#FFFFFF")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@require_GET
@cache_control(public=True, max_age=86400)
def default_logo(request):
    """The logo Google fetches for a program that has none of its own."""
    return HttpResponse(_default_logo_png(), content_type="image/png")
