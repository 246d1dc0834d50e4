"""Sign-in for team demos (#28), against a real OpenID Connect provider on 127.0.0.1 (oidc-provider-mock,
started here), with Streamlit configured through a secrets file this test writes and Chromium doing the
whole flow: two people each see only their own history, a third from another domain is refused, sign-out
ends access, a forged or expired identity cookie gets the sign-in page, a visitor link is claimed once, and
the command line keeps results as a named person. Without [auth] every other test runs as it is."""

import json
import secrets
import subprocess
import sys
import time
import urllib.request
from urllib.parse import quote

import pytest

from browser_support import browser_page, free_port, idle, isolated_env, paint, removals_shown, require_chromium, running_app
from conftest import ROOT, cli_env

pytestmark = pytest.mark.browser

PEOPLE = {"alice": ("alice@example.com", "Alice Archer"), "bob": ("bob@example.com", "Bob Baker"),
          "mallory": ("mallory@other.org", "Mallory Moss")}
STROKE = [(293, 215), (293, 330), (293, 480)]  # the tripod of camera.png, the first sample


@pytest.fixture(scope="module")
def provider():
    oidc_provider_mock = pytest.importorskip("oidc_provider_mock")
    with oidc_provider_mock.run_server_in_thread() as server:
        url = f"http://localhost:{server.server_port}"
        for sub, (email, name) in PEOPLE.items():
            request = urllib.request.Request(f"{url}/users/{quote(sub)}", method="PUT", headers={"Content-Type": "application/json"},
                                             data=json.dumps({"email": email, "name": name, "email_verified": True}).encode())
            assert urllib.request.urlopen(request, timeout=10).status == 204
        yield url


def secrets_file(folder, provider: str, port: int, cookie_secret: str):
    path = folder / "secrets.toml"
    path.write_text(f'[auth]\nredirect_uri = "http://127.0.0.1:{port}/oauth2callback"\ncookie_secret = "{cookie_secret}"\n'
                    f'client_id = "interactive-classification"\nclient_secret = "test-secret"\n'
                    f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory, provider):
    require_chromium()
    folder = tmp_path_factory.mktemp("signin")
    port, cookie_secret = free_port(), secrets.token_hex(32)
    config = folder / "settings.toml"  # re-read when it changes: share_links is switched under the running server
    config.write_text('[signin]\nshare_links = "signed-in"\n')
    env = {**isolated_env(folder), "IC_ALLOWED_DOMAINS": "example.com", "IC_HISTORY_MODE": "visitor",
           "IC_CONFIG": str(config)}
    options = ("--secrets.files", str(secrets_file(folder, provider, port, cookie_secret)))
    with running_app(env, port=port, options=options) as url:
        yield {"url": url, "folder": folder, "secret": cookie_secret, "config": config}


def sign_in(page, url: str, sub: str) -> None:
    """The sign-in page, the provider's form (who to be), and back to the app."""
    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").last.wait_for(timeout=60_000)
    page.locator("input[name=sub]").last.fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**", timeout=60_000)


def sign_out(page) -> None:
    """Sign out: the app forgets the identity, and the provider ends its session (its confirmation page)."""
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)


def signed_in_as(page, name: str) -> None:
    page.get_by_text(f"Signed in as {name}").first.wait_for(timeout=90_000)


def history_count(page, url: str) -> str:
    page.goto(f"{url}/history")
    page.get_by_role("heading", name="History").first.wait_for(timeout=60_000)
    idle(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    return "No experiments yet" if "No experiments yet" in text else next(
        line for line in text.splitlines() if " experiment" in line and " of " in line)


def test_people_sign_in_see_only_their_own_history_and_sign_out(app):
    url = app["url"]
    with browser_page(url, explore=False) as page:
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        assert "asks who you are first" in page.locator('[data-testid="stMain"]').inner_text()
        assert page.locator("canvas.upper-canvas").count() == 0  # no page before sign-in
        sign_in(page, url, "alice")
        signed_in_as(page, "Alice Archer (alice@example.com)")
        page.locator("canvas.upper-canvas").wait_for(timeout=90_000)
        paint(page, STROKE)
        removals_shown(page, 1)  # and idle: the experiment is written
        assert history_count(page, url) == "1 of 1 experiment"
        assert "kept for your account" in page.locator('[data-testid="stMain"]').inner_text()
        sign_out(page)
        page.goto(f"{url}/history")  # signed out: no history, whatever the address says
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        assert "of 1 experiment" not in page.locator('[data-testid="stMain"]').inner_text()

        sign_in(page, url, "bob")
        signed_in_as(page, "Bob Baker (bob@example.com)")
        assert history_count(page, url) == "No experiments yet"  # Alice's is not his

        sign_out(page)
        sign_in(page, url, "mallory")  # another domain: a sentence, no page
        page.get_by_text("mallory@other.org may not enter this app").wait_for(timeout=60_000)
        assert page.locator("canvas.upper-canvas").count() == 0
        page.goto(f"{url}/history")
        page.get_by_text("may not enter this app").wait_for(timeout=60_000)
        assert "of 1 experiment" not in page.locator('[data-testid="stMain"]').inner_text()


def test_a_forged_or_expired_identity_cookie_gets_the_sign_in_page(app):
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    url = app["url"]
    with browser_page(url, explore=False) as page:
        sign_in(page, url, "alice")
        signed_in_as(page, "Alice Archer")
        cookie = next(c for c in page.context.cookies() if c["name"] == "_streamlit_user")
        serializer = URLSafeTimedSerializer(app["secret"], salt="_streamlit_user")
        claims = json.loads(serializer.loads(cookie["value"]))
        assert claims["email"] == "alice@example.com"

        forged = dict(cookie, value=URLSafeTimedSerializer("not-the-secret", salt="_streamlit_user").dumps(
            json.dumps({**claims, "sub": "bob", "email": "bob@example.com"})))

        class FortyDaysAgo(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - 40 * 86400

        expired = dict(cookie, value=URLSafeTimedSerializer(app["secret"], salt="_streamlit_user",
                                                            signer=FortyDaysAgo).dumps(json.dumps(claims)))
        for fake in (forged, expired):
            page.context.clear_cookies()
            page.context.add_cookies([fake])
            page.goto(f"{url}/history")
            page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
            assert "Signed in as" not in page.locator("body").inner_text()


def test_a_visitor_link_is_claimed_once_with_a_confirmation(app):
    url = app["url"]
    with browser_page(url, explore=False) as page:
        # a visitor link of before (no sign-in then): one experiment kept under it, written by the CLI's store
        visitor = "d" * 32
        store_one_experiment(app["folder"], visitor)
        sign_in(page, url, "bob")
        signed_in_as(page, "Bob Baker")
        page.goto(f"{url}/history?visitor={visitor}")
        page.get_by_text("The visitor link in the address holds 1 experiment").wait_for(timeout=60_000)
        assert history_count_here(page) == "No experiments yet"  # nothing merged before he says so
        page.get_by_role("button", name="Move 1 experiment to my account").click()
        page.get_by_text("Moved 1 experiments").wait_for(timeout=60_000)
        assert history_count(page, url) == "1 of 1 experiment"
        page.goto(f"{url}/history?visitor={visitor}")  # again: nothing left, and said so
        page.get_by_text("was moved to your account").wait_for(timeout=60_000)


def owner_by_email(folder, email: str) -> str:
    script = (f"from ic.app import Workbench; print(Workbench({str(folder / 'data')!r}).history.people.person_by_email("
              f"{email!r}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=cli_env(IC_DATA_DIR=str(folder / "data")),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_persons_id_is_never_in_an_address_nor_claimable_through_a_pasted_link(app):
    """Alice paints and opens History: no address or link on her pages carries her owner id. Bob, signed in
    elsewhere, pastes her id as a visitor link: nothing is offered, nothing moves, Alice keeps her history."""
    url = app["url"]
    with browser_page(url, explore=False) as alice:
        sign_in(alice, url, "alice")
        signed_in_as(alice, "Alice Archer")
        alice.locator("canvas.upper-canvas").wait_for(timeout=90_000)
        paint(alice, STROKE)
        removals_shown(alice, 1)
        owner = owner_by_email(app["folder"], "alice@example.com")
        alice.locator('[data-testid="stSidebar"]').get_by_role("link", name="History").click()
        alice.wait_for_url(f"{url}/history**", timeout=60_000)
        alice.get_by_text("Your experiments").first.wait_for(timeout=60_000)
        hrefs = alice.locator("a").evaluate_all("links => links.map(a => a.href)")
        assert owner not in alice.url and all(owner not in href for href in hrefs), (alice.url, hrefs)
        before = history_count(alice, url)
        assert before != "No experiments yet"
        bob = alice.context.browser.new_context().new_page()  # another browser's cookies: another person
        sign_in(bob, url, "bob")
        signed_in_as(bob, "Bob Baker")
        bob.goto(f"{url}/history?visitor={owner}")
        signed_in_as(bob, "Bob Baker")
        bob.get_by_text("Your experiments").first.wait_for(timeout=60_000)
        assert "holds 1 experiment" not in bob.locator('[data-testid="stMain"]').inner_text()
        assert bob.get_by_role("button", name="Move").count() == 0
        assert history_count(alice, url) == before


def test_signing_out_in_one_tab_ends_the_other_tabs_at_their_next_run(app):
    """Two tabs of one browser, both signed in as Alice; she signs out in the first: the second, at its next run
    (a click on a page link), shows the sign-in page, not her history."""
    url = app["url"]
    with browser_page(url, explore=False) as page:
        context = page.context.browser.new_context()  # one browser's cookies, two tabs
        first, second = context.new_page(), context.new_page()
        sign_in(first, url, "alice")
        signed_in_as(first, "Alice Archer")
        second.goto(f"{url}/history")
        signed_in_as(second, "Alice Archer")
        sign_out(first)
        second.locator('[data-testid="stSidebar"]').get_by_role("link", name="Explore").click()
        second.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        assert "Signed in as" not in second.locator("body").inner_text()
        assert second.locator("canvas.upper-canvas").count() == 0


def history_count_here(page) -> str:
    idle(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    return "No experiments yet" if "No experiments yet" in text else text


def store_one_experiment(folder, owner: str, share: bool = False) -> str:
    """One removal kept under a visitor id, as a visitor of before the sign-in made it; with `share`, a share
    link's token to it (printed)."""
    script = f"""
from ic.app import Workbench
from ic.images import decode_image, decode_mask
bench = Workbench({str(folder / 'data')!r})
edit = bench.desk.begin({owner!r}, decode_image('assets/samples/camera.png'), 'camera.png', source_key='sample:camera.png')
mask = decode_mask('assets/samples/camera_tripod_mask.png', edit.shape)
removal = bench.actions.remove(edit, mask, owner={owner!r}, model='tf_efficientnet_lite0', inpainter='telea')
assert bench.history.saving.flush(60)
if {share!r}:
    print(bench.history.changes.share(removal.experiment_id, {owner!r}))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=cli_env(IC_DATA_DIR=str(folder / "data")),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_share_links_open_without_sign_in_only_where_the_settings_say(app):
    url, config = app["url"], app["config"]
    token = store_one_experiment(app["folder"], "e" * 32, share=True)
    with browser_page(url, explore=False) as page:
        for setting, seen in (("public", "A shared experiment"), ("signed-in", "then open the link again"),
                              ("off", "does not open share links")):
            config.write_text(f'[signin]\nshare_links = "{setting}"\n')
            page.goto(f"{url}/history?share={token}")
            page.get_by_text(seen).first.wait_for(timeout=60_000)
            idle(page)  # the whole page, not its first lines
            shown = page.locator('[data-testid="stMain"]').inner_text()
            assert ("Read-only: someone shared this one experiment" in shown) == (setting == "public"), (setting, shown[:300])
    config.write_text('[signin]\nshare_links = "signed-in"\n')


def test_the_command_line_keeps_results_as_a_named_person_in_team_mode(app, tmp_path):
    """Once Alice has signed in, `--as alice@example.com` keeps a compare as hers; an address nobody signed in
    with, or visitor mode, is refused before any work."""
    with browser_page(app["url"], explore=False) as page:
        sign_in(page, app["url"], "alice")
        signed_in_as(page, "Alice Archer")
    env = cli_env(IC_DATA_DIR=str(app["folder"] / "data"), IC_HISTORY_MODE="team")
    run = lambda *args, **more: subprocess.run([sys.executable, "-m", "ic", *args], cwd=ROOT,  # noqa: E731
                                               env={**env, **more}, capture_output=True, text=True, timeout=600)
    args = ("compare", "assets/samples/camera.png", "--mask", "assets/samples/camera_tripod_mask.png", "--models",
            "tf_efficientnet_lite0", "--inpainters", "telea")
    done = run(*args, "--as", "alice@example.com")
    assert done.returncode == 0, done.stderr
    assert "kept in History as alice@example.com" in done.stdout
    nobody = run(*args, "--as", "nobody@example.com")
    assert nobody.returncode == 2 and "No one has signed in to this app as nobody@example.com" in nobody.stderr
    visitors = run(*args, "--as", "alice@example.com", IC_HISTORY_MODE="visitor")
    assert visitors.returncode == 2 and "team mode" in visitors.stderr
    check = f"""
from ic.app import Workbench
bench = Workbench({str(app['folder'] / 'data')!r})
rows = bench.history.reads.list('x' * 32)  # team mode: everyone's
print(sorted(set(bench.history.people.authors([row.owner for row in rows]).values())))
"""
    shown = subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "Alice Archer" in shown.stdout  # team mode names the author
