"""History on PostgreSQL: moving a history there and back, wrong URLs and passwords as sentences, the database
stopping mid-session, and two servers (replicas) on one database. The store's own suite runs on both backends
in test_history.py; these are what only a server database brings."""

import io
import json
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from waiting import until

from ic.app import get_workbench
from ic.errors import ICError, Unavailable
from ic.history import Filter, HistoryStore

from browser_support import browser_page, errors_shown, free_port, grid_rows, isolated_env, paint, removals_shown, running_app, top1_notice
from conftest import ROOT, cli_env, open_page
from postgres_support import PASSWORD
from test_saving import stroke, waiting_notices


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ic", *args], env=cli_env(), capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def exported(store: HistoryStore) -> dict:
    """Everything an export of the whole history holds, member by member (JSON parsed, images as bytes)."""
    ids = [row.id for row in store.experiments.list("anyone", shared=True)]
    with zipfile.ZipFile(io.BytesIO(store.transfer.export_zip(ids, "anyone", shared=True))) as archive:
        return {name: json.loads(archive.read(name)) if name.endswith(".json") else archive.read(name)
                for name in archive.namelist()}


def test_copy_from_sqlite_to_postgresql_and_back_gives_equal_exports_and_runs_once(postgres, tmp_path, records):
    source = HistoryStore(tmp_path / "sqlite")
    first, second = source.experiments.add_group(records[:2], "alice", group_id="g1")
    source.experiments.add(records[2], "bob")
    source.experiments.annotate(first, "alice", starred=True, note="the legs matter")
    source.experiments.add_explanation(second, "alice", image="original", method="occlusion", class_index=872, label="tripod",
                           cells=np.linspace(0, 1, 16).reshape(4, 4), details={"grid": 4})
    token = source.shares.create(first, "alice")
    from ic.auth import Person

    carol = Person("https://idp.example", "carol-1", email="carol@example.com", name="Carol")
    source.people.seen(carol)
    source.experiments.add(records[0], "f" * 32)
    assert source.people.claim("f" * 32, carol.owner).experiments == 1  # a visitor link claimed before the move
    url = postgres.new_database()

    there = cli("history", "copy", "--from", str(tmp_path / "sqlite"), "--to", url, "--json")
    assert there.returncode == 0, there.stderr
    report = json.loads(there.stdout)
    assert (report["experiments"], report["maps"], report["links"], report["skipped"], report["people"]) == (4, 1, 1, 0, 1)
    assert PASSWORD not in there.stdout + there.stderr  # the URL is shown without its password
    again = json.loads(cli("history", "copy", "--from", str(tmp_path / "sqlite"), "--to", url, "--json").stdout)
    assert (again["experiments"], again["maps"], again["links"], again["skipped"], again["people"]) == (0, 0, 0, 4, 0)

    back = cli("history", "copy", "--from", url, "--to", str(tmp_path / "back"))
    assert back.returncode == 0 and "Copied 4 experiments" in back.stdout, back.stderr
    copy, on_server = HistoryStore(tmp_path / "back"), HistoryStore(url=url)
    assert exported(copy) == exported(on_server) == exported(source)
    assert [row.row() for row in copy.experiments.list("alice")] == [row.row() for row in source.experiments.list("alice")]  # same order
    assert copy.experiments.list("alice", Filter(group_id="g1"))
    assert copy.experiments.list("alice", Filter(starred_only=True))[0].note == "the legs matter"
    assert copy.shares.open(token)[0].id == first  # a link made before the move still opens its experiment
    assert copy.people.names([carol.owner]) == {carol.owner: "Carol"} and copy.people.by_email("CAROL@example.com")
    assert copy.people.claim("f" * 32, "g" * 32) is None  # still claimed, once
    assert on_server.people.names([carol.owner]) == {carol.owner: "Carol"} and on_server.people.claim_of("f" * 32)
    on_server.experiments.add(records[1], "h" * 32)  # a claim on PostgreSQL moves its rows too
    assert on_server.people.claim("h" * 32, carol.owner).experiments == 1 and not on_server.experiments.list("h" * 32)


def test_a_wrong_url_or_password_is_one_sentence_that_never_shows_the_password(postgres, tmp_path, monkeypatch):
    wrong = postgres.url(password="not-the-Pa55word")
    with pytest.raises(ICError) as refused:
        HistoryStore(url=wrong)
    assert "password authentication failed" in str(refused.value) and "not-the-Pa55word" not in str(refused.value)
    assert not isinstance(refused.value, Unavailable)  # a refusal: fix the URL, waiting will not help

    nobody = f"postgresql://postgres:hunter2-secret@127.0.0.1:{free_port()}/history"
    with pytest.raises(Unavailable) as down:
        HistoryStore(url=nobody)
    assert "hunter2-secret" not in str(down.value) and "***" in str(down.value)

    for url, code in ((wrong, 2), (nobody, 3), ("mysql://root:hunter2-secret@127.0.0.1/history", 2)):
        done = cli("history", "copy", "--from", url, "--to", str(tmp_path / "copy"))
        assert done.returncode == code, done.stderr
        assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr and "hunter2-secret" not in done.stderr and "Pa55word" not in done.stderr

    monkeypatch.setenv("IC_DATABASE_URL", wrong)  # the page: the removal works, the sidebar says why it is not kept
    app = open_page(timeout=120, visitor="9" * 32)
    from test_public_and_faults import paint as paint_in_app

    paint_in_app(app, stroke("left"))
    assert not app.exception and app.session_state["desk"].edit.removals == 1
    [notice] = [w.value for w in app.sidebar.warning if "History cannot open its database" in w.value]
    assert "password authentication failed" in notice and "Pa55word" not in notice


def test_the_database_stopping_for_20_seconds_loses_nothing_and_the_page_says_so(postgres, monkeypatch):
    from test_public_and_faults import paint as paint_in_app

    url = postgres.new_database()
    monkeypatch.setenv("IC_DATABASE_URL", url)
    visitor, store = "a" * 32, HistoryStore(url=url)
    app = open_page(timeout=180, visitor=visitor)
    paint_in_app(app, stroke("left"))
    assert store.experiments.count(visitor) == 1
    postgres.stop()
    stopped = time.monotonic()
    try:
        paint_in_app(app, stroke("left") | stroke("right"), flush=False)  # as the canvas sends it
        assert not app.exception and app.session_state["desk"].edit.removals == 2
        until(lambda: get_workbench().history.saving.waiting(visitor), 60, "the saver trying, and waiting for the database")
        app.run()
        notices = waiting_notices(app)
        assert any(n.startswith("1 removal not saved yet: the history database cannot be reached") for n in notices), \
            [w.value for w in app.warning]
        history = open_page(timeout=120, run=False)
        history.query_params["visitor"] = visitor
        history.run().switch_page("app_pages/history.py").run()  # the History page meanwhile: a sentence, no traceback
        assert not history.exception and any("cannot be reached right now" in e.value for e in history.error), \
            [e.value for e in history.error]
        reloaded = open_page(timeout=120, visitor=visitor)  # F5 meanwhile: a fresh page, and why (it said nothing)
        assert any("could not be brought back" in w.value for w in reloaded.warning), [w.value for w in reloaded.warning]
        time.sleep(max(0.0, 20 - (time.monotonic() - stopped)))  # fixed on purpose: the outage's length is the test
    finally:
        postgres.start()
    assert get_workbench().history.saving.flush(60)
    app.run()
    assert not waiting_notices(app)  # gone once written
    assert store.experiments.count(visitor) == 2  # each removal kept exactly once
    assert np.array_equal(store.experiments.get(store.experiments.list(visitor)[0].id, visitor).images["mask"],
                          app.session_state["desk"].edit.mask)


@pytest.mark.browser
def test_two_servers_on_one_database_show_the_same_history(postgres, tmp_path):
    from browser_support import require_chromium

    require_chromium()
    url = postgres.new_database()
    env = {**isolated_env(tmp_path), "IC_DATABASE_URL": url, "IC_DATA_DIR": str(tmp_path / "unused")}
    with running_app(env) as first, running_app(env) as second:
        with browser_page(first) as page:
            visitor = page.url.split("visitor=")[1].split("&")[0]
            paint(page, [(150, 330), (160, 420), (170, 480)])
            removals_shown(page, 1)
            expected = "{} → {}".format(*top1_notice(page))
        with browser_page(f"{second}/history?visitor={visitor}", explore=False) as other:
            other.get_by_text("1 of 1 experiment").wait_for(timeout=60_000)
            assert [row["top-1 before → after"] for row in grid_rows(other)] == [expected]
            assert errors_shown(other) == []
    assert not (tmp_path / "unused" / "history.sqlite3").exists()  # nothing went to a local SQLite file


def test_retention_run_by_two_servers_at_once_keeps_exactly_the_newest(postgres, records):
    """Two stores with their own connections (two servers) add and prune one visitor's history at once."""
    import threading

    url = postgres.new_database()
    servers, errors = [HistoryStore(url=url), HistoryStore(url=url)], []

    def work(store, rounds):
        try:
            for i in range(rounds):
                store.experiments.add(records[i % len(records)], "alice")
                store.prune("alice", max_per_visitor=4)
        except Exception as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(servers[i % 2], 6)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert servers[0].experiments.count("alice") == servers[1].experiments.count("alice") == 4
    for row in servers[1].experiments.list("alice"):  # every kept experiment is whole: its images were not pruned away
        assert servers[0].experiments.get(row.id, "alice").images["edited"].shape == records[0].edited.shape


def test_the_apps_secrets_name_the_database(postgres, monkeypatch):
    """Community Cloud's way: [connections.history] url in the app's secrets, read by the page, used by the engine."""
    from ic.paths import data_dir

    from test_public_and_faults import paint as paint_in_app

    url = postgres.new_database()
    app = open_page(timeout=120, run=False)
    app.secrets["connections"] = {"history": {"url": url}}
    app.query_params["visitor"] = "b" * 32
    app.run()
    paint_in_app(app, stroke("left"), flush=False)
    assert not app.exception and app.session_state["desk"].edit.removals == 1
    assert get_workbench(database_url=url).history.saving.flush(30)
    assert HistoryStore(url=url).experiments.count("b" * 32) == 1  # kept in PostgreSQL
    assert not (data_dir() / "history.sqlite3").exists()  # and nothing in the data folder


def test_a_database_down_when_the_server_starts_is_used_once_it_is_up(postgres, monkeypatch):
    from test_public_and_faults import paint as paint_in_app

    url = postgres.new_database()
    monkeypatch.setenv("IC_DATABASE_URL", url)
    monkeypatch.setattr("ic.app.history.REOPEN_S", 0.5)
    visitor = "c" * 32
    postgres.stop()
    try:
        app = open_page(timeout=120, visitor=visitor)
        [notice] = [w.value for w in app.sidebar.warning if "History cannot open its database" in w.value]
        assert "tries again every" in notice and PASSWORD not in notice
        paint_in_app(app, stroke("left"), flush=False)  # the removal works; the sidebar said it is not kept
        assert not app.exception and app.session_state["desk"].edit.removals == 1
    finally:
        postgres.start()
    until(lambda: not get_workbench().history.problem, 30, "the history opening its database again")  # in the background
    app.run()
    assert not [w.value for w in app.sidebar.warning if "History cannot open" in w.value]
    paint_in_app(app, stroke("left") | stroke("right"))
    assert HistoryStore(url=url).experiments.count(visitor) == 1  # kept from now on


@pytest.mark.browser
def test_a_secrets_file_that_does_not_parse_is_said_not_ignored(tmp_path):
    from browser_support import require_chromium

    require_chromium()
    home = tmp_path / "home"
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text('[connections.history]\nurl = "postgresql://u:hunter2@host/db\n')
    env = {**isolated_env(tmp_path), "HOME": str(home)}
    with running_app(env) as url, browser_page(url) as page:
        notice = page.get_by_text("The app's secrets cannot be read")
        notice.wait_for(timeout=60_000)
        assert "hunter2" not in notice.inner_text() and "own disk" in notice.inner_text()
        assert errors_shown(page) == []
