"""What every till operation does before it touches a card: program, PIN, clock."""

from datetime import datetime
from functools import cache

from loyalty.domain.actors import Actor, Channel
from loyalty.exceptions import ProgramInactive, ProgramNotFound, ProgramTypeMismatch
from loyalty.models import MerchantSettings, Program, Reward
from loyalty.raw_sql import column_list, database, row_instance, table
from loyalty_site.db import prepared_fetch_one

_PROGRAM_COLUMNS = tuple(field.attname for field in Program._meta.concrete_fields)


def program_of_merchant_sql(*, merchant) -> Program | None:
    """``Program.objects.filter(merchant=merchant).first()`` (there is one per merchant) as one hand-written statement.

    Every till operation reads it first (``loyalty/raw_sql.py``). It comes with what the "reward
    ready" message needs to know after the operation
    (``loyalty.services.automatic_messages.reward_ready_note``): whether the merchant has it on
    (``reward_ready_message_enabled``) and the cheapest active reward's points
    (``cheapest_reward_points``), read in this same statement so the till pays no query for them; and the
    merchant's PIN lockout settings (``pin_merchant_settings``, an unsaved ``MerchantSettings`` of those two
    fields: empty ones mean the defaults, as on a saved row), which a PIN check would otherwise read itself.
    """
    db = database()
    row = prepared_fetch_one(_program_statement(db.vendor), [merchant.pk], connection=db, binary=True)
    if row is None:
        return None
    *columns, reward_ready_message_enabled, pin_max_failed_attempts, pin_lockout_minutes, cheapest_reward_points = row
    program = row_instance(Program, _PROGRAM_COLUMNS, columns)
    program.reward_ready_message_enabled = bool(reward_ready_message_enabled)
    program.cheapest_reward_points = cheapest_reward_points
    program.pin_merchant_settings = MerchantSettings(
        merchant_id=merchant.pk,
        pin_max_failed_attempts=pin_max_failed_attempts,
        pin_lockout_minutes=pin_lockout_minutes,
    )
    return program


@cache
def _program_statement(vendor: str) -> str:
    return (
        f"SELECT {column_list(Program, _PROGRAM_COLUMNS, 'p')},"
        " s.reward_ready_message_enabled, s.pin_max_failed_attempts, s.pin_lockout_minutes,"
        f" (SELECT MIN(r.points_required) FROM {table(Reward)} r WHERE r.program_id = p.id AND r.is_active)"
        f" FROM {table(Program)} p LEFT JOIN {table(MerchantSettings)} s ON s.merchant_id = p.merchant_id"
        " WHERE p.merchant_id = %s"
    )


def program_for_operation(*, actor: Actor, needs: str | None = None) -> Program:
    """The merchant's active program, checked to support ``needs`` ("stamps" or "points")."""
    program = program_of_merchant_sql(merchant=actor.merchant)
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
    return pin_verify(
        store=actor.store,
        pin=staff_pin,
        staff_pin_id=staff_pin_id,
        now=now,
        merchant_settings=getattr(program, "pin_merchant_settings", None),
    )
