"""The Apple back end behind wallet.services, the change tags, and the dev certificate command."""

import datetime
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from tests import factories
from wallet.apple import backend
from wallet.apple.services import apple_pass_get_or_create, apple_pass_mark_changed
from wallet.models import ApplePass
from wallet.services import card_changed, wallet_links


def test_links_create_the_pass_once_with_a_stable_serial_and_token(apple_settings, card):
    first = wallet_links(card)["apple_pass_url"]
    second = wallet_links(card)["apple_pass_url"]

    apple_pass = ApplePass.objects.get(card=card)
    assert (
        first == second == f"https://loyalty.example.test/api/v1/loyalty/passes/apple/{apple_pass.serial_number}.pkpass"
    )
    assert len(apple_pass.serial_number) == 32
    assert len(apple_pass.authentication_token) >= 16
    assert ApplePass.objects.count() == 1


def test_serials_and_tokens_differ_between_cards(apple_settings, card, other_card):
    one, two = apple_pass_get_or_create(card=card), apple_pass_get_or_create(card=other_card)

    assert one.serial_number != two.serial_number
    assert one.authentication_token != two.authentication_token


def test_apple_wallet_is_off_and_its_button_hidden_when_not_configured(apple_off, card):
    assert backend.is_configured() is False
    assert "apple_pass_url" not in wallet_links(card)
    assert not ApplePass.objects.exists()


@pytest.mark.parametrize(
    "missing", ["PASS_TYPE_ID", "TEAM_ID", "SIGNER_CERT_PATH", "SIGNER_KEY_PATH", "WWDR_CERT_PATH"]
)
def test_any_missing_setting_turns_apple_wallet_off(apple_settings, missing):
    setattr(apple_settings, f"LOYALTY_APPLE_{missing}", "")

    assert backend.is_configured() is False


def test_card_changed_bumps_the_tag_of_an_existing_pass_only(apple_settings, card, other_card):
    apple_pass = apple_pass_get_or_create(card=card)

    card_changed(card_id=card.id)
    card_changed(card_id=other_card.id)

    assert ApplePass.objects.get(pk=apple_pass.pk).change_tag > apple_pass.change_tag
    assert not ApplePass.objects.filter(card=other_card).exists()  # built fresh when first downloaded


def test_tags_strictly_increase_for_changes_at_the_same_instant(apple_settings, store, program):
    passes = [apple_pass_get_or_create(card=factories.make_card(store)) for _ in range(3)]
    instant = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=10)

    tags = [apple_pass_mark_changed(card_id=apple_pass.card_id, now=instant).change_tag for apple_pass in passes * 2]

    assert tags == sorted(tags)
    assert len(set(tags)) == len(tags)
    last = ApplePass.objects.get(pk=passes[0].pk)
    assert last.changed_at == instant.replace(microsecond=0) + datetime.timedelta(seconds=1)


@pytest.mark.postgres
def test_concurrent_changes_get_distinct_tags(apple_settings, transactional_db):
    merchant = factories.make_merchant()
    store = factories.make_store(merchant)
    factories.make_program(merchant)
    passes = [apple_pass_get_or_create(card=factories.make_card(store)) for _ in range(8)]
    instant = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=10)
    barrier = threading.Barrier(len(passes))
    errors, given = [], []

    def change(card_id):
        try:
            barrier.wait()
            for _ in range(5):
                given.append(apple_pass_mark_changed(card_id=card_id, now=instant).change_tag)
        except Exception as error:  # noqa: BLE001 (surfaced by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=change, args=(apple_pass.card_id,)) for apple_pass in passes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    # 8 passes × 5 changes all at one instant: every change took its own tag.
    assert len(given) == len(set(given)) == len(passes) * 5
    assert set(ApplePass.objects.values_list("change_tag", flat=True)) <= set(given)


def test_dev_certs_command_is_idempotent(tmp_path, capsys):
    call_command("wallet_dev_certs", directory=str(tmp_path))
    first = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    call_command("wallet_dev_certs", directory=str(tmp_path))
    second = {path.name: path.read_bytes() for path in tmp_path.iterdir()}

    assert set(first) == {"ca.pem", "ca.key", "wwdr.pem", "wwdr.key", "pass-signer.pem", "pass-signer.key"}
    assert first == second
    assert (tmp_path / "pass-signer.key").stat().st_mode & 0o077 == 0
    output = capsys.readouterr().out
    assert "Created" in output and "Kept" in output


def test_saving_a_program_with_no_broker_configured_tries_no_broker(
    apple_settings, program, owner, caplog, django_capture_on_commit_callbacks
):
    from kombu import pools

    from loyalty.services.programs import program_update
    from loyalty_site.celery import app

    # given: no broker configured (the embedded run), and no connection pooled by an earlier test
    assert app.conf.task_always_eager
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    # when: the owner renames the program, which tells Apple Wallet (an eager task) after commit
    with caplog.at_level("DEBUG"), django_capture_on_commit_callbacks(execute=True) as callbacks:
        program_update(actor=owner, name="Renamed")
    # then: the task ran, and nothing reached for a broker
    assert callbacks
    assert not [record for record in caplog.records if record.name.startswith(("kombu", "amqp"))]
    assert app.conf.broker_url.startswith("memory://")
