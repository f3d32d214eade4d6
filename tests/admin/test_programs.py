"""The program page: saved through the program service, audited, one program per merchant."""

import pytest
from django.urls import reverse

from loyalty.models import PROGRAM_BOUNDS, AdminAuditLog, Program, Reward

pytestmark = pytest.mark.django_db


def _program_form(program, **changes):
    data = {
        "name": program.name,
        "is_active": "on",
        "loyalty_type": program.loyalty_type,
        "stamps_target": program.stamps_target,
        "stamps_reward_description": program.stamps_reward_description,
        "points_per_euro": program.points_per_euro,
        "minimum_purchase_cents": program.minimum_purchase_cents,
        "points_expiration_days": "",
        "cooldown_minutes": program.cooldown_minutes,
        "max_daily_stamps": program.max_daily_stamps,
        "background_color": program.background_color,
        "text_color": program.text_color,
        "terms_text": program.terms_text,
        "privacy_url": "",
        "rewards-TOTAL_FORMS": "0",
        "rewards-INITIAL_FORMS": "0",
        "rewards-MIN_NUM_FORMS": "0",
        "rewards-MAX_NUM_FORMS": "1000",
    }
    rewards = list(program.rewards.order_by("pk"))
    data["rewards-TOTAL_FORMS"] = str(len(rewards))
    data["rewards-INITIAL_FORMS"] = str(len(rewards))
    for index, reward in enumerate(rewards):
        data.update(
            {
                f"rewards-{index}-id": reward.pk,
                f"rewards-{index}-program": program.pk,
                f"rewards-{index}-name": reward.name,
                f"rewards-{index}-description": reward.description,
                f"rewards-{index}-points_required": reward.points_required,
                f"rewards-{index}-position": reward.position,
                f"rewards-{index}-is_active": "on",
            }
        )
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_program_page_has_fieldsets_preview_and_rewards_inline(world, clients):
    page = clients["owner"].get(reverse("admin:loyalty_program_change", args=[world.alpha.program.pk])).content.decode()
    for heading in ("Type", "Stamps", "Points", "Anti-fraud", "Branding", "Terms"):
        assert f">{heading}</h2>" in page
    assert 'id="bo-card-preview"' in page
    assert 'type="color"' in page
    assert "Croissant" in page  # the rewards catalog inline
    assert 'name="merchant"' not in page  # the owner never picks a merchant


def test_owner_changes_the_program_and_a_reward_and_it_is_audited(world, clients):
    program = world.alpha.program
    reward = program.rewards.get()
    data = _program_form(
        program, stamps_target="12", background_color="#112233", **{"rewards-0-points_required": "150"}
    )
    response = clients["owner"].post(reverse("admin:loyalty_program_change", args=[program.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    program.refresh_from_db()
    reward.refresh_from_db()
    assert (program.stamps_target, program.background_color, reward.points_required) == (12, "#112233", 150)
    entry = AdminAuditLog.objects.filter(object_type="loyalty.Program", action="change").get()
    assert entry.actor == world.owner
    assert entry.merchant == world.alpha.merchant
    assert entry.changes["stamps_target"] == [10, 12]
    assert entry.changes["background_color"] == ["#1F3A5F", "#112233"]
    reward_entry = AdminAuditLog.objects.filter(object_type="loyalty.Reward", action="change").get()
    assert reward_entry.changes["points_required"] == [100, 150]


def test_owner_adds_a_reward_through_the_inline(world, clients):
    program = world.alpha.program
    data = _program_form(program)
    data.update(
        {
            "rewards-TOTAL_FORMS": "2",
            "rewards-1-program": program.pk,
            "rewards-1-name": "Cake",
            "rewards-1-description": "",
            "rewards-1-points_required": "300",
            "rewards-1-position": "1",
            "rewards-1-is_active": "on",
        }
    )
    response = clients["owner"].post(reverse("admin:loyalty_program_change", args=[program.pk]), data)
    assert response.status_code == 302
    assert Reward.objects.filter(program=program, name="Cake", points_required=300).exists()


def test_domain_validation_errors_are_shown_in_plain_words(world, clients):
    program = world.alpha.program
    data = _program_form(program, stamps_target="0", background_color="red")
    response = clients["owner"].post(reverse("admin:loyalty_program_change", args=[program.pk]), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ensure this value is greater than or equal to 1." in page
    assert "Enter a colour as #RRGGBB." in page
    program.refresh_from_db()
    assert program.stamps_target == 10


def test_a_second_program_is_refused_with_a_message(world, clients):
    response = clients["owner"].get(reverse("admin:loyalty_program_add"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:loyalty_program_change", args=[world.alpha.program.pk])
    assert "already has a loyalty program" in response.content.decode()
    assert Program.objects.filter(merchant=world.alpha.merchant).count() == 1


def test_platform_admin_gets_a_message_creating_a_second_program(world, clients):
    data = _program_form(world.alpha.program, name="Second", merchant=world.alpha.merchant.pk)
    data.update({"rewards-TOTAL_FORMS": "0", "rewards-INITIAL_FORMS": "0"})
    response = clients["superuser"].post(reverse("admin:loyalty_program_add"), data)
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Program.objects.filter(merchant=world.alpha.merchant).count() == 1


def test_owner_of_a_merchant_without_program_creates_it(world, clients):
    Program.objects.filter(pk=world.beta.program.pk).update(is_active=False)  # keep Beta's; make a third merchant
    from tests import factories
    from tests.admin.conftest import _user, logged_in

    merchant = factories.make_merchant("Gamma", slug="gamma")
    store = factories.make_store(merchant, code="gamma-shop")
    client = logged_in(_user("owner", merchant, [store], "gamma-owner"))
    data = _program_form(world.alpha.program, name="Gamma Points", loyalty_type="points")
    data.update({"rewards-TOTAL_FORMS": "0", "rewards-INITIAL_FORMS": "0"})
    response = client.post(reverse("admin:loyalty_program_add"), data)
    assert response.status_code == 302
    program = Program.objects.get(merchant=merchant)
    assert program.name == "Gamma Points"
    assert AdminAuditLog.objects.filter(object_type="loyalty.Program", action="create", merchant=merchant).exists()


def test_manager_cannot_open_or_change_the_program(world, clients):
    url = reverse("admin:loyalty_program_change", args=[world.alpha.program.pk])
    assert clients["manager"].get(url).status_code == 403
    assert clients["manager"].post(url, _program_form(world.alpha.program, stamps_target="3")).status_code == 403
    world.alpha.program.refresh_from_db()
    assert world.alpha.program.stamps_target == 10


ALERT_SETTINGS_AT_DEFAULTS = {
    "alert_busy_card_enabled": "on",
    "alert_busy_card_max_operations": "5",
    "alert_large_adjustment_enabled": "on",
    "alert_large_adjustment_points": "1000",
    "alert_void_rate_enabled": "on",
    "alert_void_rate_percent": "20",
    "alert_void_rate_min_operations": "10",
    "alert_staff_favourite_enabled": "on",
    "alert_staff_favourite_percent": "30",
    "alert_staff_favourite_min_operations": "10",
    "alert_pin_guessing_enabled": "on",
    "alert_enrollment_burst_enabled": "on",
    "alert_enrollment_burst_max_enrollments": "10",
    "alert_store_lockouts_per_day": "3",
    "alert_out_of_hours_enabled": "on",
    "alert_out_of_hours_max_operations": "0",
    "alert_digest_enabled": "on",
}
# The automatic messages' numbers, at their defaults (their switches are unticked boxes: off).
AUTOMATIC_MESSAGES_AT_DEFAULTS = {
    "points_expiring_days": "14",
    "we_miss_you_days": "60",
    "birthday_bonus_stamps": "0",
    "birthday_bonus_points": "0",
}


def test_merchant_settings_change_is_audited(world, clients):
    url = reverse("admin:loyalty_merchantsettings_change", args=[world.alpha.settings.pk])
    response = clients["owner"].post(
        url,
        {
            "pin_max_failed_attempts": "3",
            "pin_lockout_minutes": "",
            "self_enrollment_open": "on",
            **ALERT_SETTINGS_AT_DEFAULTS,
            **AUTOMATIC_MESSAGES_AT_DEFAULTS,
        },
    )
    assert response.status_code == 302
    entry = AdminAuditLog.objects.get(object_type="loyalty.MerchantSettings")
    assert entry.changes == {"pin_max_failed_attempts": [None, 3]}
    assert clients["owner"].get(reverse("admin:loyalty_merchantsettings_changelist"))["Location"] == url


def test_owner_sets_the_fraud_alert_rules_in_the_merchant_settings(world, clients):
    url = reverse("admin:loyalty_merchantsettings_change", args=[world.alpha.settings.pk])
    page = clients["owner"].get(url).content.decode()
    for name in ALERT_SETTINGS_AT_DEFAULTS:
        assert f'name="{name}"' in page
    form = {"pin_max_failed_attempts": "", "pin_lockout_minutes": "", "self_enrollment_open": "on"}
    form |= ALERT_SETTINGS_AT_DEFAULTS | AUTOMATIC_MESSAGES_AT_DEFAULTS | {"alert_busy_card_max_operations": "8"}
    del form["alert_void_rate_enabled"]  # an unticked box: the rule is off
    assert clients["owner"].post(url, form).status_code == 302
    world.alpha.settings.refresh_from_db()
    assert world.alpha.settings.alert_busy_card_max_operations == 8
    assert world.alpha.settings.alert_void_rate_enabled is False
    entry = AdminAuditLog.objects.get(object_type="loyalty.MerchantSettings")
    assert entry.changes == {"alert_busy_card_max_operations": [5, 8], "alert_void_rate_enabled": [True, False]}


def test_owner_turns_on_the_birthday_message_with_a_bonus_and_own_text(world, clients):
    url = reverse("admin:loyalty_merchantsettings_change", args=[world.alpha.settings.pk])
    page = clients["owner"].get(url).content.decode()
    for name in ("welcome_message_enabled", "birthday_bonus_points", "we_miss_you_text_lb", "points_expiring_days"):
        assert f'name="{name}"' in page
    assert "Happy birthday! Thank you for being with us." in page  # the default text, shown to the owner
    form = {"pin_max_failed_attempts": "", "pin_lockout_minutes": "", "self_enrollment_open": "on"}
    form |= ALERT_SETTINGS_AT_DEFAULTS | AUTOMATIC_MESSAGES_AT_DEFAULTS
    form |= {"birthday_message_enabled": "on", "birthday_bonus_points": "50", "birthday_text_fr": "Bon anniversaire !"}
    assert clients["owner"].post(url, form).status_code == 302
    world.alpha.settings.refresh_from_db()
    assert world.alpha.settings.birthday_message_enabled is True
    assert (world.alpha.settings.birthday_bonus_points, world.alpha.settings.birthday_text_fr) == (50, "Bon anniversaire !")
    entry = AdminAuditLog.objects.get(object_type="loyalty.MerchantSettings")
    assert entry.changes == {
        "birthday_message_enabled": [False, True],
        "birthday_bonus_points": [0, 50],
        "birthday_text_fr": ["", "Bon anniversaire !"],
    }

    form |= {"birthday_bonus_points": "100001"}
    response = clients["owner"].post(url, form)
    assert response.status_code == 200  # the form comes back with the error; nothing changed
    world.alpha.settings.refresh_from_db()
    assert world.alpha.settings.birthday_bonus_points == 50


@pytest.mark.parametrize(("field", "low", "high"), [(name, *bounds) for name, bounds in PROGRAM_BOUNDS.items()])
def test_the_back_office_and_the_api_refuse_the_same_program_values(world, clients, field, low, high):
    """One set of bounds, on the model: the admin form and the API serializer both read it."""
    from loyalty.api.serializers import ProgramWriteRequest
    from tests.api.conftest import client_for

    program = world.alpha.program
    before = getattr(program, field)
    response = clients["owner"].post(
        reverse("admin:loyalty_program_change", args=[program.pk]), _program_form(program, **{field: str(high + 1)})
    )
    assert response.status_code == 200  # the form comes back with the error
    assert f"Ensure this value is less than or equal to {high}." in response.content.decode()
    api = client_for(world.owner, world.alpha.store).patch(
        "/api/v1/store/loyalty/program", {field: high + 1}, format="json"
    )
    assert api.status_code == 400 and field in api.json()["error"]["details"]
    serializer_field = ProgramWriteRequest().fields[field]
    assert (serializer_field.min_value, serializer_field.max_value) == (low, high)
    program.refresh_from_db()
    assert getattr(program, field) == before
