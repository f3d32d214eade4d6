"""Store (scanner) API: ``/api/v1/store/loyalty/``.

Each action validates with a serializer, makes one service or selector call
with the actor built from the token, and shapes the answer. The merchant is
always the token's; ids in URLs and bodies are looked up within it, so an id
of another merchant is a 404. Every write a till retries is ``@idempotent``:
it honours an ``Idempotency-Key`` header (``loyalty/api/idempotency.py``).
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from loyalty.api import examples as ex
from loyalty.api import serializers as s
from loyalty.api.idempotency import IDEMPOTENCY_ERRORS, idempotent
from loyalty.api.permissions import IsManagerOrOwner, IsOwner, IsStoreMember
from loyalty.api.views.base import StoreViewSet, validated
from loyalty.domain.cards import CardRef
from loyalty.exceptions import ProgramNotFound, StaffPinNotFound
from loyalty.models import LoyaltyCard, LoyaltyTransaction, Program
from loyalty.selectors.cards import (
    card_get,
    card_list,
    card_scanner_lookup,
    card_transactions,
    card_wallets,
    transaction_list,
)
from loyalty.selectors.stats import merchant_stats, program_stats
from loyalty.services.cards import card_deactivate, card_reactivate
from loyalty.services.enrollment import customer_enroll
from loyalty.services.notifications import card_page_url
from loyalty.services.points import points_adjust, points_earn, points_redeem, points_void
from loyalty.services.programs import program_create, program_deactivate, program_update
from loyalty.services.stamps import stamp_add, stamps_redeem, stamps_void
from loyalty_site.api.schema import error_responses, list_error_responses
from staff.models import StaffPin
from staff.services.pins import pin_create, pin_delete, pin_unlock, pin_update

ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The object's id (within your merchant).")
PIN_ERRORS = ("STAFF_PIN_REQUIRED", "STAFF_PIN_INVALID", "STAFF_PIN_LOCKED")
OPERATION_ERRORS = ("CARD_NOT_FOUND", "PROGRAM_NOT_FOUND", "PROGRAM_INACTIVE", "PROGRAM_TYPE_MISMATCH", *PIN_ERRORS)


def _program_of(merchant) -> Program:
    program = Program.objects.for_merchant(merchant).prefetch_related("rewards").first()
    if program is None:
        raise ProgramNotFound()
    return program


def _with_pin(data: dict) -> dict:
    """The PIN fields a service takes, from a validated request."""
    return {"staff_pin": data.get("staff_pin") or None, "staff_pin_id": data.get("staff_pin_id")}


# --- Program ------------------------------------------------------------------------------------------


@extend_schema_view(
    retrieve=extend_schema(
        summary="The merchant's program with its rewards catalog",
        responses={200: s.ProgramSerializer, **error_responses("PROGRAM_NOT_FOUND")},
        examples=[ex.response(ex.PROGRAM)],
    ),
    create=extend_schema(
        summary="Create the program (owner)",
        request=s.ProgramWriteRequest,
        responses={201: s.ProgramSerializer, **error_responses("PROGRAM_EXISTS")},
        examples=[ex.request(ex.PROGRAM_WRITE), ex.response(ex.PROGRAM, status_codes=["201"])],
    ),
    partial_update=extend_schema(
        summary="Change the program (owner)",
        request=s.ProgramWriteRequest,
        responses={200: s.ProgramSerializer, **error_responses("PROGRAM_NOT_FOUND")},
        examples=[ex.request({"cooldown_minutes": 10, "max_daily_stamps": 3}), ex.response(ex.PROGRAM)],
    ),
    destroy=extend_schema(
        summary="Deactivate the program (owner); cards and history stay",
        responses={200: s.ProgramSerializer, **error_responses("PROGRAM_NOT_FOUND")},
        examples=[ex.response({**ex.PROGRAM, "is_active": False})],
    ),
)
class ProgramViewSet(StoreViewSet):
    action_permissions = {"create": [IsOwner], "partial_update": [IsOwner], "destroy": [IsOwner]}

    def retrieve(self, request):
        return Response(s.ProgramSerializer(_program_of(self.actor.merchant)).data)

    def create(self, request):
        data = validated(s.ProgramWriteRequest, request.data)
        program = program_create(actor=self.actor, **data)
        return Response(s.ProgramSerializer(program).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request):
        data = validated(s.ProgramWriteRequest, request.data, partial=True)
        program = program_update(actor=self.actor, **data)
        return Response(s.ProgramSerializer(program).data)

    def destroy(self, request):
        program = program_deactivate(actor=self.actor)
        return Response(s.ProgramSerializer(program).data)


# --- Statistics --------------------------------------------------------------------------------------------


class StatsViewSet(StoreViewSet):
    action_permissions = {"merchant": [IsOwner]}

    @extend_schema(
        summary="Program statistics",
        responses={200: s.ProgramStatsSerializer, **error_responses("PROGRAM_NOT_FOUND")},
        examples=[ex.response(ex.PROGRAM_STATS)],
    )
    def program(self, request):
        return Response(program_stats(program=_program_of(self.actor.merchant)))

    @extend_schema(
        summary="Merchant-wide statistics across stores (owner)",
        responses={200: s.MerchantStatsSerializer, **error_responses()},
        examples=[ex.response(ex.MERCHANT_STATS)],
    )
    def merchant(self, request):
        return Response(merchant_stats(merchant=self.actor.merchant))


# --- Staff PINs -------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="This store's staff PINs (never a PIN or a hash); a locked store shows on every PIN",
        responses={200: s.StaffPinSerializer(many=True), **list_error_responses()},
        examples=[ex.response(ex.PIN)],
    ),
    create=extend_schema(
        summary="Create a PIN at this store",
        request=s.PinCreateRequest,
        responses={201: s.StaffPinSerializer, **error_responses()},
        examples=[
            ex.request({"name": "Sam (till 2)", "pin": "5678", "staff_number": "S-02"}),
            ex.response(ex.PIN, status_codes=["201"]),
        ],
    ),
    partial_update=extend_schema(
        summary="Rename, change or (de)activate a PIN",
        parameters=[ID],
        request=s.PinUpdateRequest,
        responses={200: s.StaffPinSerializer, **error_responses("STAFF_PIN_NOT_FOUND")},
        examples=[ex.request({"pin": "8642"}), ex.response(ex.PIN)],
    ),
    destroy=extend_schema(
        summary="Delete a PIN (deactivated instead when transactions name it)",
        parameters=[ID],
        responses={200: s.StaffPinDeletedSerializer, **error_responses("STAFF_PIN_NOT_FOUND")},
        examples=[ex.response({"id": 3, "deleted": False})],
    ),
    unlock=extend_schema(
        summary="Clear the lockout of a PIN and of this store's PIN entry",
        parameters=[ID],
        request=None,
        responses={200: s.StaffPinSerializer, **error_responses("STAFF_PIN_NOT_FOUND")},
        examples=[ex.response(ex.PIN)],
    ),
)
class StaffPinViewSet(StoreViewSet):
    permission_classes = [IsManagerOrOwner]
    queryset = StaffPin.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StaffPin.objects.none()
        # Only the token's store: a manager's token is for a store the membership covers.
        return (
            StaffPin.objects.for_merchant(self.actor.merchant)
            .filter(store=self.actor.store)
            .select_related("store__pin_guard")  # each PIN shows the store's lockout too
            .order_by("name", "pk")
        )

    def get_object(self):
        staff_pin = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if staff_pin is None:
            raise StaffPinNotFound()
        return staff_pin

    def list(self, request):
        return self.paginated(self.get_queryset(), s.StaffPinSerializer)

    def create(self, request):
        data = validated(s.PinCreateRequest, request.data)
        staff_pin = pin_create(actor=self.actor, store=self.actor.store, **data)
        return Response(s.StaffPinSerializer(staff_pin).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk):
        data = validated(s.PinUpdateRequest, request.data)
        staff_pin = pin_update(actor=self.actor, staff_pin=self.get_object(), **data)
        return Response(s.StaffPinSerializer(staff_pin).data)

    def destroy(self, request, pk):
        staff_pin = self.get_object()
        deleted = pin_delete(actor=self.actor, staff_pin=staff_pin)
        return Response({"id": int(pk), "deleted": deleted})

    @action(detail=True, methods=["post"])
    def unlock(self, request, pk):
        staff_pin = pin_unlock(actor=self.actor, staff_pin=self.get_object())
        return Response(s.StaffPinSerializer(staff_pin).data)


# --- Cards -----------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Search the merchant's cards",
        parameters=[s.CardListQuery],
        responses={200: s.CardSummarySerializer(many=True), **list_error_responses()},
        examples=[ex.response(ex.CARD_SUMMARY)],
    ),
    retrieve=extend_schema(
        summary="A card: program, reward text, balances, last activity, wallet flags",
        parameters=[ID],
        responses={200: s.CardDetailSerializer, **error_responses("CARD_NOT_FOUND")},
        examples=[ex.response(ex.CARD_DETAIL)],
    ),
    transactions=extend_schema(
        summary="The card's history, newest first",
        parameters=[ID],
        responses={200: s.TransactionSerializer(many=True), **error_responses("CARD_NOT_FOUND")},
        examples=[ex.response(ex.TRANSACTION)],
    ),
    enroll=extend_schema(
        summary="Enroll a customer at this store",
        request=s.CardEnrollRequest,
        responses={
            201: s.CardEnrolledSerializer,
            **error_responses("ALREADY_ENROLLED", "PROGRAM_NOT_FOUND", "PROGRAM_INACTIVE", *IDEMPOTENCY_ERRORS),
        },
        examples=[
            ex.request(
                {
                    "email": "new.customer@example.com",
                    "full_name": "New Customer",
                    "language": "fr",
                    "marketing_consent": False,
                }
            ),
            ex.response(
                {**ex.CARD_DETAIL, "transaction_id": 1240, "card_url": ex.CARD_URL}, status_codes=["201"]
            ),
        ],
    ),
    deactivate=extend_schema(
        summary="Deactivate a card (owner; manager: a card whose home store is one of theirs)",
        parameters=[ID],
        request=s.CardDeactivateRequest,
        responses={201: s.CardWrittenSerializer, **error_responses("CARD_NOT_FOUND")},
        examples=[
            ex.request({"reason": "Card reported lost"}),
            ex.response({**ex.CARD_DETAIL, "is_active": False, "transaction_id": 1241}, status_codes=["201"]),
        ],
    ),
    reactivate=extend_schema(
        summary="Reactivate a card (owner; manager: a card whose home store is one of theirs)",
        parameters=[ID],
        request=s.CardReactivateRequest,
        responses={201: s.CardWrittenSerializer, **error_responses("CARD_NOT_FOUND")},
        examples=[
            ex.request({"reason": "Card found again"}),
            ex.response({**ex.CARD_DETAIL, "transaction_id": 1242}, status_codes=["201"]),
        ],
    ),
    points_adjust=extend_schema(
        summary="Correct a card's points balance (owner)",
        parameters=[ID],
        request=s.PointsAdjustRequest,
        responses={
            201: s.PointsAdjustedSerializer,
            **error_responses("INSUFFICIENT_POINTS", *OPERATION_ERRORS, *IDEMPOTENCY_ERRORS),
        },
        examples=[
            ex.request({"points_delta": 50, "reason": "Goodwill after a broken machine", "staff_pin": "5678"}),
            ex.response(
                {"transaction_id": 1243, "card_id": 42, "points_delta": 50, "points_balance": 360},
                status_codes=["201"],
            ),
        ],
    ),
)
class CardViewSet(StoreViewSet):
    queryset = LoyaltyCard.objects.none()  # for the schema; requests go through the selectors
    action_permissions = {
        "deactivate": [IsManagerOrOwner],
        "reactivate": [IsManagerOrOwner],
        "points_adjust": [IsOwner],
    }

    def _ref(self) -> CardRef:
        return CardRef(card_id=int(self.kwargs["pk"]))

    def _written(self, result, code=status.HTTP_201_CREATED) -> Response:
        card = result.card
        body = s.card_detail(card, card_wallets(card=card)) | {"transaction_id": result.transaction.pk}
        return Response(s.CardWrittenSerializer(body).data, status=code)

    def list(self, request):
        query = validated(s.CardListQuery, request.query_params)
        cards = card_list(
            merchant=self.actor.merchant,
            search=query.get("search", ""),
            is_active=query.get("is_active"),
            enrolled_store=self.actor.store if query.get("enrolled_here") else None,
        )
        return self.paginated(cards, s.CardSummarySerializer)

    def retrieve(self, request, pk):
        card = card_get(merchant=self.actor.merchant, card_ref=self._ref())
        return Response(s.CardDetailSerializer(s.card_detail(card, card_wallets(card=card))).data)

    @action(detail=True, methods=["get"])
    def transactions(self, request, pk):
        history = card_transactions(merchant=self.actor.merchant, card_ref=self._ref())
        return self.paginated(history, s.TransactionSerializer)

    @extend_schema(
        methods=["GET"],
        summary="The scanner view of a card found by card number, QR data or e-mail",
        parameters=[s.CardLookupQuery],
        responses={200: s.ScannerViewSerializer, **error_responses("CARD_NOT_FOUND")},
        examples=[ex.response(ex.SCANNER)],
    )
    @extend_schema(
        methods=["POST"],
        summary="The scanner view of a card named by card_id, qr_code or card_number",
        request=s.CardRefRequest,
        responses={200: s.ScannerViewSerializer, **error_responses("CARD_NOT_FOUND")},
        examples=[ex.request({"qr_code": "q8Zs1cX0bF3n2Yw7Kp4TtV9mRjE6uHaL"}), ex.response(ex.SCANNER)],
    )
    @action(detail=False, methods=["get", "post"])
    def lookup(self, request):
        if request.method == "GET":
            query = validated(s.CardLookupQuery, request.query_params)
            view = card_scanner_lookup(actor=self.actor, query=query["q"])
        else:
            data = validated(s.CardRefRequest, request.data)
            view = card_scanner_lookup(actor=self.actor, card_ref=data["card_ref"])
        return Response(s.ScannerViewSerializer(s.scanner_view(view)).data)

    @idempotent
    @action(detail=False, methods=["post"])
    def enroll(self, request):
        data = validated(s.CardEnrollRequest, request.data)
        enrollment = customer_enroll(actor=self.actor, **data)
        card = enrollment.card
        # The card page's link, for the customer's phone at the counter (the till shows it as a QR code).
        body = s.card_detail(card, card_wallets(card=card)) | {
            "transaction_id": enrollment.transaction.pk,
            "card_url": card_page_url(card),
        }
        return Response(s.CardEnrolledSerializer(body).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk):
        data = validated(s.CardDeactivateRequest, request.data)
        return self._written(card_deactivate(actor=self.actor, card_ref=self._ref(), reason=data["reason"]))

    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk):
        data = validated(s.CardReactivateRequest, request.data)
        return self._written(card_reactivate(actor=self.actor, card_ref=self._ref(), reason=data["reason"]))

    @idempotent
    @action(detail=True, methods=["post"], url_path="points/adjust")
    def points_adjust(self, request, pk):
        data = validated(s.PointsAdjustRequest, request.data)
        result = points_adjust(
            actor=self.actor,
            card_ref=self._ref(),
            points_delta=data["points_delta"],
            reason=data["reason"],
            **_with_pin(data),
        )
        body = {
            "transaction_id": result.transaction.pk,
            "card_id": result.card.pk,
            "points_delta": result.transaction.points_delta,
            "points_balance": result.card.points_balance,
        }
        return Response(s.PointsAdjustedSerializer(body).data, status=status.HTTP_201_CREATED)


# --- Ledger ----------------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="The merchant's transactions, newest first",
        parameters=[s.TransactionListQuery],
        responses={200: s.TransactionSerializer(many=True), **list_error_responses()},
        examples=[ex.response(ex.TRANSACTION)],
    )
)
class TransactionViewSet(StoreViewSet):
    queryset = LoyaltyTransaction.objects.none()

    def list(self, request):
        query = validated(s.TransactionListQuery, request.query_params)
        transactions = transaction_list(
            merchant=self.actor.merchant,
            store_code=query.get("store"),
            type=query.get("type"),
            since=query.get("since"),
            until=query.get("until"),
        )
        return self.paginated(transactions, s.TransactionSerializer)


# --- Till operations -------------------------------------------------------------------------------------------------


class OperationViewSet(StoreViewSet):
    """Stamps and points at the till. Every answer carries the ledger row's ``transaction_id``."""

    permission_classes = [IsStoreMember]

    @extend_schema(
        summary="Add a stamp",
        request=s.StampRequest,
        responses={
            201: s.StampAddedSerializer,
            **error_responses(
                "STAMP_COOLDOWN", "DAILY_STAMP_LIMIT", "CARD_INACTIVE", *OPERATION_ERRORS, *IDEMPOTENCY_ERRORS
            ),
        },
        examples=[
            ex.request({"card_number": "482915736204", "staff_pin": "5678"}),
            ex.response(
                {
                    "transaction_id": 1236,
                    "card_id": 42,
                    "card_number": "482915736204",
                    "stamp_count": 5,
                    "stamps_target": 10,
                    "stamps_until_reward": 5,
                    "reward_earned": False,
                    "stamps_today": 1,
                    "max_daily_stamps": 5,
                    "next_stamp_available_at": ex.NEXT,
                },
                status_codes=["201"],
            ),
        ],
    )
    @idempotent
    def stamp(self, request):
        data = validated(s.StampRequest, request.data)
        result = stamp_add(actor=self.actor, card_ref=data["card_ref"], notes=data["notes"], **_with_pin(data))
        card = result.card
        body = {
            "transaction_id": result.transaction.pk,
            "card_id": card.pk,
            "card_number": card.card_number,
            "stamp_count": card.stamp_count,
            "stamps_target": card.program.stamps_target,
            "stamps_until_reward": card.stamps_until_reward,
            "reward_earned": result.reward_earned,
            "stamps_today": result.stamps_today,
            "max_daily_stamps": result.max_daily_stamps,
            "next_stamp_available_at": result.next_stamp_available_at,
        }
        return Response(s.StampAddedSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Redeem the stamp reward",
        request=s.StampRedeemRequest,
        responses={
            201: s.StampsRedeemedSerializer,
            **error_responses("INSUFFICIENT_STAMPS", "CARD_INACTIVE", *OPERATION_ERRORS, *IDEMPOTENCY_ERRORS),
        },
        examples=[
            ex.request({"card_id": 42, "staff_pin": "5678"}),
            ex.response(
                {
                    "transaction_id": 1237,
                    "card_id": 42,
                    "stamp_count": 0,
                    "reward_description": "Free coffee",
                    "stamps_redeemed": 10,
                },
                status_codes=["201"],
            ),
        ],
    )
    @idempotent
    def stamp_redeem(self, request):
        data = validated(s.StampRedeemRequest, request.data)
        result = stamps_redeem(actor=self.actor, card_ref=data["card_ref"], notes=data["notes"], **_with_pin(data))
        body = {
            "transaction_id": result.transaction.pk,
            "card_id": result.card.pk,
            "stamp_count": result.card.stamp_count,
            "reward_description": result.card.program.stamps_reward_description,
            "stamps_redeemed": -result.transaction.stamps_delta,
        }
        return Response(s.StampsRedeemedSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Void stamps, by count or by the stamp transaction",
        request=s.StampVoidRequest,
        responses={
            201: s.StampsVoidedSerializer,
            **error_responses(
                "TRANSACTION_NOT_FOUND", "ALREADY_VOIDED", "NOTHING_TO_VOID", *OPERATION_ERRORS, *IDEMPOTENCY_ERRORS
            ),
        },
        examples=[
            ex.request({"card_id": 42, "original_transaction_id": 1236, "staff_pin": "5678"}),
            ex.response(
                {"transaction_id": 1238, "card_id": 42, "stamps_voided": 1, "stamp_count": 4}, status_codes=["201"]
            ),
        ],
    )
    @idempotent
    def stamp_void(self, request):
        data = validated(s.StampVoidRequest, request.data)
        result = stamps_void(
            actor=self.actor,
            card_ref=data["card_ref"],
            stamps_to_void=data.get("stamps_to_void"),
            original_transaction_id=data.get("original_transaction_id"),
            notes=data["notes"],
            **_with_pin(data),
        )
        body = {
            "transaction_id": result.transaction.pk,
            "card_id": result.card.pk,
            "stamps_voided": result.stamps_voided,
            "stamp_count": result.card.stamp_count,
        }
        return Response(s.StampsVoidedSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Earn points for a purchase (idempotent per order_reference)",
        request=s.PointsEarnRequest,
        responses={
            201: OpenApiResponse(s.PointsEarnedSerializer, description="Booked."),
            200: OpenApiResponse(s.PointsEarnedSerializer, description="Replay of an order reference already booked."),
            **error_responses("BELOW_MINIMUM_PURCHASE", "CARD_INACTIVE", *OPERATION_ERRORS, *IDEMPOTENCY_ERRORS),
        },
        examples=[
            ex.request(
                {
                    "card_number": "482915736204",
                    "purchase_amount_cents": 450,
                    "order_reference": "POS-2026-000123",
                    "staff_pin": "5678",
                }
            ),
            ex.response(
                {"transaction_id": 1234, "card_id": 42, "points_earned": 45, "points_balance": 310, "replayed": False},
                name="Booked",
                status_codes=["201"],
            ),
            ex.response(
                {"transaction_id": 1234, "card_id": 42, "points_earned": 45, "points_balance": 310, "replayed": True},
                name="Replay",
                status_codes=["200"],
            ),
        ],
    )
    @idempotent
    def points_earn(self, request):
        data = validated(s.PointsEarnRequest, request.data)
        result = points_earn(
            actor=self.actor,
            card_ref=data["card_ref"],
            purchase_amount_cents=data["purchase_amount_cents"],
            order_reference=data.get("order_reference") or None,
            notes=data["notes"],
            **_with_pin(data),
        )
        body = {
            "transaction_id": result.transaction.pk,
            "card_id": result.card.pk,
            "points_earned": result.points_earned,
            "points_balance": result.card.points_balance,
            "replayed": result.replayed,
        }
        code = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        return Response(s.PointsEarnedSerializer(body).data, status=code)

    @extend_schema(
        summary="Redeem a catalog reward with points",
        request=s.PointsRedeemRequest,
        responses={
            201: s.PointsRedeemedSerializer,
            **error_responses(
                "INSUFFICIENT_POINTS", "REWARD_NOT_FOUND", "CARD_INACTIVE", *OPERATION_ERRORS, *IDEMPOTENCY_ERRORS
            ),
        },
        examples=[
            ex.request({"card_id": 42, "reward_id": 1, "staff_pin": "5678"}),
            ex.response(
                {
                    "transaction_id": 1239,
                    "card_id": 42,
                    "reward_id": 1,
                    "reward_name": "Croissant",
                    "points_spent": 100,
                    "points_balance": 210,
                },
                status_codes=["201"],
            ),
        ],
    )
    @idempotent
    def points_redeem(self, request):
        data = validated(s.PointsRedeemRequest, request.data)
        result = points_redeem(
            actor=self.actor,
            card_ref=data["card_ref"],
            reward_id=data["reward_id"],
            notes=data["notes"],
            **_with_pin(data),
        )
        body = {
            "transaction_id": result.transaction.pk,
            "card_id": result.card.pk,
            "reward_id": result.reward.pk,
            "reward_name": result.reward.name,
            "points_spent": -result.transaction.points_delta,
            "points_balance": result.card.points_balance,
        }
        return Response(s.PointsRedeemedSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Void points: by amount, by the earning transaction, or by its order reference",
        request=s.PointsVoidRequest,
        responses={
            201: s.PointsVoidedSerializer,
            **error_responses(
                "TRANSACTION_NOT_FOUND", "ALREADY_VOIDED", "NOTHING_TO_VOID", *OPERATION_ERRORS, *IDEMPOTENCY_ERRORS
            ),
        },
        examples=[
            ex.request({"card_id": 42, "order_reference": "POS-2026-000123", "staff_pin": "5678"}),
            ex.response(
                {"transaction_id": 1240, "card_id": 42, "points_voided": 45, "points_balance": 265},
                status_codes=["201"],
            ),
        ],
    )
    @idempotent
    def points_void(self, request):
        data = validated(s.PointsVoidRequest, request.data)
        result = points_void(
            actor=self.actor,
            card_ref=data["card_ref"],
            points_to_void=data.get("points_to_void"),
            original_transaction_id=data.get("original_transaction_id"),
            order_reference=data.get("order_reference") or None,
            notes=data["notes"],
            **_with_pin(data),
        )
        body = {
            "transaction_id": result.transaction.pk,
            "card_id": result.card.pk,
            "points_voided": result.points_voided,
            "points_balance": result.card.points_balance,
        }
        return Response(s.PointsVoidedSerializer(body).data, status=status.HTTP_201_CREATED)
