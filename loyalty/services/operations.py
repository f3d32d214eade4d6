"""What every till operation does before it touches a card: program, PIN, clock."""

from datetime import datetime

from loyalty.domain.actors import Actor, Channel
from loyalty.exceptions import ProgramInactive, ProgramNotFound, ProgramTypeMismatch
from django.db.models import OuterRef, Subquery

from loyalty.models import MerchantSettings, Program, Reward


def program_for_operation(*, actor: Actor, needs: str | None = None) -> Program:
    """The merchant's active program, checked to support ``needs`` ("stamps" or "points").

    It comes with what the "reward ready" message needs to know after the
    operation (``loyalty.services.automatic_messages.reward_ready_note``):
    whether the merchant has it on, and the cheapest active reward's points,
    read in this same query so the till's operations pay no query for them.
    """
    program = (
        Program.objects.filter(merchant=actor.merchant)
        .annotate(
            reward_ready_message_enabled=Subquery(
                MerchantSettings.objects.filter(merchant=OuterRef("merchant")).values("reward_ready_message_enabled")[:1]
            ),
            cheapest_reward_points=Subquery(
                Reward.objects.filter(program=OuterRef("pk"), is_active=True)
                .order_by("points_required")
                .values("points_required")[:1]
            ),
        )
        .first()
    )
    if program is None:
        raise ProgramNotFound()
    if not program.is_active:
        raise ProgramInactive()
    if needs == "stamps" and not program.has_stamps:
        raise ProgramTypeMismatch(details={"loyalty_type": program.loyalty_type, "needs": "stamps"})
    if needs == "points" and not program.has_points:
        raise ProgramTypeMismatch(details={"loyalty_type": program.loyalty_type, "needs": "points"})
    return program


def staff_pin_for_operation(
    *, actor: Actor, program: Program, staff_pin: str | None, staff_pin_id: int | None, now: datetime
):
    """Verify the staff PIN when the program requires one at the till, or when one is given.

    Runs before the operation's own transaction so a failed PIN stays counted.
    Back-office actions (password-authenticated owners) need no PIN.
    """
    from staff.services.pins import pin_verify  # staff depends on loyalty's models; import late

    if actor.channel != Channel.TILL or actor.store is None:
        return None
    if not staff_pin and not program.require_staff_pin:
        return None
    return pin_verify(store=actor.store, pin=staff_pin, staff_pin_id=staff_pin_id, now=now)
