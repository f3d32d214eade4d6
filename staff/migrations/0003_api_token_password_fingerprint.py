"""API tokens remember a keyed fingerprint of their user's password hash.

Tokens issued before this migration get an empty fingerprint, which matches
no password: they stop, and each till signs in once more. Giving them the
current password's fingerprint instead would keep alive exactly the tokens
this change is about — those issued before a password change.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0002_admin_groups"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="password_fingerprint",
            field=models.CharField(default="", editable=False, max_length=64),
        ),
    ]
