"""Logins are throttled, the local encryption key is per installation, weak keys do not deploy, and stored
API keys rotate (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from migrator.core import crypto
from migrator.core.models import Connection
from tests.factories import ConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def test_failed_logins_are_throttled_per_username_and_address(client):
    user = UserFactory(username="victim")
    user.set_password("the-right-password-42")
    user.save()
    url = reverse("login")
    for _ in range(20):
        response = client.post(url, {"username": "victim", "password": "wrong"})
        assert response.status_code in (200, 429)
    response = client.post(url, {"username": "victim", "password": "the-right-password-42"})
    assert response.status_code == 429 and b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    # another address is not locked out by this one's guessing
    other = client.__class__(REMOTE_ADDR="10.9.8.7")
    response = other.post(url, {"username": "victim", "password": "the-right-password-42"})
    assert response.status_code == 302 and "_auth_user_id" in other.session


def test_a_few_mistakes_then_the_right_password_still_logs_in(client):
    user = UserFactory(username="typo")
    user.set_password("the-right-password-42")
    user.save()
    for _ in range(3):
        client.post(reverse("login"), {"username": "typo", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "typo", "password": "the-right-password-42"})
    assert response.status_code == 302


def _settings_in_subprocess(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SECRET_KEY", "MIGRATOR_ENCRYPTION_KEY", "MIGRATOR_RECEIPT_KEY")}
    clean.update({"MIGRATOR_TESTING": "false", "DJANGO_SETTINGS_MODULE": "migrator.settings"})
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**clean, **env}, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_each_data_dir_generates_its_own_keys_and_none_is_a_constant(tmp_path):
    """Each data dir gets its own generated keys (0600, under <data dir>/secrets); nothing is a constant."""
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='migrator.settings'; django.setup();"
            "from django.conf import settings; print(settings.MIGRATOR_ENCRYPTION_KEY); print(settings.SECRET_KEY)")
    from migrator.localsecrets import local_secret

    out = _settings_in_subprocess({"DEBUG": "true", "MIGRATOR_DATA_DIR": str(tmp_path / "one")}, code)
    assert out.returncode == 0, out.stderr
    keys = [out.stdout.split()]
    keys.append([local_secret(tmp_path / "one", "encryption_key"), local_secret(tmp_path / "one", "secret_key")])
    keys.append([local_secret(tmp_path / "two", "encryption_key", kind="fernet"),
                 local_secret(tmp_path / "two", "secret_key")])
    assert keys[0] == keys[1] and keys[0][0] != keys[2][0] and keys[0][1] != keys[2][1]
    assert crypto.is_fernet_key(keys[0][0]) and not crypto.weakness(keys[0][0])
    stored = tmp_path / "one" / "secrets" / "encryption_key"
    assert stored.read_text().strip() == keys[0][0] and (stored.stat().st_mode & 0o777) == 0o600
    assert keys[0][0] not in (REPO / "migrator" / "settings.py").read_text()


@pytest.mark.slow
def test_check_deploy_refuses_weak_encryption_keys(tmp_path):
    base = {"DEBUG": "false", "SECRET_KEY": "s" * 10 + "-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
            "ALLOWED_HOSTS": "migrator.example.com", "MIGRATOR_DATA_DIR": str(tmp_path),
            "MIGRATOR_RECEIPT_KEY": "receipt-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"}
    code = ("import sys; from django.core.management import execute_from_command_line; "
            "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])")
    out = _settings_in_subprocess({**base, "MIGRATOR_ENCRYPTION_KEY": "x"}, code)
    assert out.returncode != 0 and "migrator.E001" in out.stderr, out.stderr[-500:]
    from django.test import override_settings

    from migrator.core.checks import encryption_keys_are_strong

    for weak in ("deploy-check-passphrase", "a" * 40, base["SECRET_KEY"], "insecure-dev-key-0123456789abcdefghijklmn",
                 crypto.Fernet.generate_key().decode() + ",short"):
        with override_settings(MIGRATOR_ENCRYPTION_KEYS=weak.split(","), SECRET_KEY=base["SECRET_KEY"]):
            assert [e.id for e in encryption_keys_are_strong()] == ["migrator.E001"], weak
    strong = crypto.Fernet.generate_key().decode()
    out = _settings_in_subprocess({**base, "MIGRATOR_ENCRYPTION_KEY": strong}, code)
    assert out.returncode == 0, out.stderr[-1000:]
    # Production settings refuse to start without a receipt key (it is never derived from SECRET_KEY there).
    without = {k: v for k, v in base.items() if k != "MIGRATOR_RECEIPT_KEY"}
    out = _settings_in_subprocess({**without, "MIGRATOR_ENCRYPTION_KEY": strong}, code)
    assert out.returncode != 0 and "MIGRATOR_RECEIPT_KEY is required when DEBUG is off" in out.stderr, out.stderr[-500:]
    out = _settings_in_subprocess({**base, "MIGRATOR_ENCRYPTION_KEY": strong,
                                   "MIGRATOR_RECEIPT_KEY": base["SECRET_KEY"]}, code)
    assert out.returncode != 0 and "migrator.E002" in out.stderr, out.stderr[-500:]


def test_key_rotation_with_multifernet(settings, capsys):
    old, new = crypto.Fernet.generate_key().decode(), crypto.Fernet.generate_key().decode()
    settings.MIGRATOR_ENCRYPTION_KEYS = [old]
    first = ConnectionFactory(name="First", api_key_encrypted="")
    first.set_api_key("sk-first-key-1234")
    first.save()
    second = ConnectionFactory(name="Second", api_key_encrypted="")
    second.set_api_key("sk-second-key-5678")
    second.save()
    settings.MIGRATOR_ENCRYPTION_KEYS = [crypto.Fernet.generate_key().decode()]
    stray = ConnectionFactory(name="Stray", api_key_encrypted="")
    stray.set_api_key("sk-stray")
    stray.save()

    settings.MIGRATOR_ENCRYPTION_KEYS = [new, old]  # newest first: both decrypt, the new one encrypts
    assert Connection.objects.get(name="First").get_api_key() == "sk-first-key-1234"
    with pytest.raises(CommandError, match="1 stored key"):  # Stray's key cannot be read with either key
        call_command("rotate_keys", "--json")
    out = capsys.readouterr().out
    assert '"rotated": 2' in out and '"unreadable": ["Stray"]' in out

    settings.MIGRATOR_ENCRYPTION_KEYS = [new]  # the old key is gone now
    assert Connection.objects.get(name="First").get_api_key() == "sk-first-key-1234"
    assert Connection.objects.get(name="Second").get_api_key() == "sk-second-key-5678"
    with pytest.raises(crypto.SecretUnreadable):
        Connection.objects.get(name="Stray").get_api_key()


def test_an_installation_from_before_the_generated_key_gets_its_sandbox_key_stored_again(settings):
    from migrator.core.services.connections import ensure_sandbox_connection

    settings.MIGRATOR_ENCRYPTION_KEYS = ["an-old-development-constant-" + "x" * 40]
    stale = ensure_sandbox_connection(base_url="http://127.0.0.1:9/v1", api_key="sk-sandbox")
    settings.MIGRATOR_ENCRYPTION_KEYS = [crypto.Fernet.generate_key().decode()]  # the new per-install key
    fresh = ensure_sandbox_connection(base_url="http://127.0.0.1:9/v1", api_key="sk-sandbox")
    assert fresh.pk == stale.pk and fresh.get_api_key() == "sk-sandbox"
