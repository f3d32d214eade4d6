"""System checks of the wallet configuration: ``manage.py check`` (and ``--deploy``), ``runserver`` and ``migrate``.

The findings are :mod:`wallet.doctor`'s, so these lines and ``manage.py
wallet_doctor`` always agree; an error here stops ``runserver`` and
``migrate`` with the line that says what to fix. ``check --tag wallet`` runs
only these.
"""

from django.core import checks

from wallet.doctor import Status, wallet_inspect

TAG = "wallet"


@checks.register(TAG)
def wallet_configuration(app_configs, **kwargs):
    if app_configs is not None and not any(app_config.label == "wallet" for app_config in app_configs):
        return []
    messages = []
    for section in wallet_inspect():
        for finding in section.problems:
            level = checks.Error if finding.status is Status.ERROR else checks.Warning
            messages.append(
                level(f"{section.title}: {finding.line()}.", hint=finding.hint or None, id=finding.check_id)
            )
    return messages
