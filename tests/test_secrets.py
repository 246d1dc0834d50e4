"""A database URL's password is never shown: not in the sidebar, the command line, the log or an error, wherever
the URL holds it (its userinfo, with an unencoded `@` in it too, or `password=` in its query)."""

import logging
import subprocess
import sys
import uuid

import pytest

from ic.app import get_workbench
from ic.history import HistoryStore
from ic.secrets import redact, shown_url

from browser_support import free_port
from conftest import ROOT, cli_env, open_page

SECRET = "QuerySecret42"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ic", *args], env=cli_env(), capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://ic@127.0.0.1:8698/history?password=QuerySecret42", "postgresql://ic@127.0.0.1:8698/history?password=***"),
    ("postgresql://ic:Top@Secret99@db/h", "postgresql://ic:***@db/h"),
    ("postgresql://ic:pw%40Secret99@db:5432/h?sslmode=require", "postgresql://ic:***@db:5432/h?sslmode=require"),
    ("postgres://ic:a?Secret99@db/h", "postgres://ic:***@db/h"),
    ("postgresql://ic@db/h?sslmode=require&sslpassword=Secret99&application_name=ic",
     "postgresql://ic@db/h?sslmode=require&sslpassword=***&application_name=ic"),
    ("postgresql://ic@db/h?PGPASSWORD=Secret99", "postgresql://ic@db/h?PGPASSWORD=***"),
    ("host=db user=ic password=Secret99 dbname=h", "host=db user=ic password=*** dbname=h"),
    ("postgresql://db/h", "postgresql://db/h"),
])
def test_a_url_is_shown_without_its_password_wherever_it_is(url, shown):
    assert shown_url(url) == shown
    message = f'connection to "{url}" failed: FATAL: password authentication failed (password={url[-8:]})'
    assert "Secret" not in redact(message, url) and "Secret" not in shown_url(url)


def test_the_command_line_and_its_errors_never_print_the_password(tmp_path):
    port = free_port()  # nothing listens: the CLI's error names the URL
    HistoryStore(tmp_path / "none")  # an empty history to copy from
    for url in (f"postgresql://ic@127.0.0.1:{port}/history?password={SECRET}",
                f"postgresql://ic:Top@{SECRET}@127.0.0.1:{port}/h"):
        for args in (("--from", url, "--to", str(tmp_path / "copy")), ("--from", str(tmp_path / "none"), "--to", url)):
            done = cli("history", "copy", *args)
            assert done.returncode == 3 and done.stderr.startswith("error: History cannot open its database"), done.stderr
            assert SECRET not in done.stdout + done.stderr and "127.0.0.1" in done.stderr


def test_a_password_with_an_at_sign_connects_and_the_page_log_and_cli_hide_it(postgres, tmp_path, monkeypatch, caplog):
    import psycopg

    role, password = "ic_" + uuid.uuid4().hex[:8], f"Top@{SECRET}"
    with psycopg.connect(postgres.url(), autocommit=True) as db:
        db.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'")
    database = postgres.new_database().rsplit("/", 1)[1]
    unencoded = f"postgresql://{role}:{password}@127.0.0.1:{postgres.port}/{database}"
    in_query = f"postgresql://{role}@127.0.0.1:{postgres.port}/{database}?password={password.replace('@', '%40')}"
    for url in (unencoded, in_query):
        assert HistoryStore(url=url).experiments.count("nobody") == 0  # the host after the last @: it connects

    HistoryStore(tmp_path / "empty")
    copied = cli("history", "copy", "--from", str(tmp_path / "empty"), "--to", unencoded)
    assert copied.returncode == 0 and f"to postgresql://{role}:***@127.0.0.1" in copied.stdout, copied.stderr
    assert SECRET not in copied.stdout + copied.stderr

    with caplog.at_level(logging.INFO, logger="ic"):
        assert get_workbench(database_url=in_query).history.problem is None
    assert "History is kept in postgresql://" in caplog.text and SECRET not in caplog.text

    monkeypatch.setenv("IC_DATABASE_URL", in_query.replace("%40", "%40wrong"))  # a refusal the sidebar explains
    app = open_page(timeout=120, visitor="7" * 32)
    [notice] = [w.value for w in app.sidebar.warning if "History cannot open its database" in w.value]
    assert "password authentication failed" in notice and "password=***" in notice and SECRET not in notice
