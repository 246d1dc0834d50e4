"""Shared fixtures. Hub look-ups fail at once, and no test reaches beyond 127.0.0.1."""

import hashlib
import ipaddress
import os
import re
import socket
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub
os.environ.setdefault("IC_DEVICE", "cpu")

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"
sys.path.insert(0, str(ROOT))

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach {address!r}: only 127.0.0.1")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach {address!r}: only 127.0.0.1")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host is not None and not _is_local((host.decode() if isinstance(host, bytes) else host, 0)):
        raise socket.gaierror(socket.EAI_NONAME, f"tests may not look up {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(scope="session", autouse=True)
def _one_export_cache(tmp_path_factory):
    """One export cache for the whole run, from its start: servers that module fixtures start (before any test's
    own folders are set) export each model once and read it back after (tests/browser_support.py)."""
    os.environ["IC_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "onnx-cache")


@pytest.fixture(autouse=True)
def _isolated_folders(tmp_path_factory, monkeypatch):
    """Each test sees empty model, torch hub and data folders unless it fills them."""
    base = tmp_path_factory.mktemp("ic-env")
    monkeypatch.setenv("IC_MODELS_DIR", str(base / "models"))
    monkeypatch.setenv("TORCH_HOME", str(base / "torch"))
    monkeypatch.setenv("IC_DATA_DIR", str(base / "data"))
    # One export cache for the whole run: each model is exported once (tests of the cache use their own).
    monkeypatch.setenv("IC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "onnx-cache"))
    monkeypatch.delenv("IC_LAMA_MODEL", raising=False)
    monkeypatch.delenv("IC_DATABASE_URL", raising=False)  # SQLite in the data folder unless a test says otherwise
    # An unroutable local port: a download attempt fails at once, on this machine.
    monkeypatch.setenv("IC_LAMA_URL", "http://127.0.0.1:9/big-lama.pt")


@pytest.fixture
def fresh_models():
    """The process's models and instances (ic.models) forgotten before and after the test, as a server restart
    forgets them: classifiers, inpainters, measured rates, workbenches."""
    from ic.models import models

    models().reset()
    yield models()
    models().reset()


def open_page(page: str = "explore", *, timeout: float = 120, run: bool = True, **query):
    """A page of the app in AppTest, as a browser opens it: the frame (streamlit_app.py) with `query` as the
    address's query parameters (visitor=…, share=…), on `page` (explore, compare, sweeps, history); run once
    unless `run` is False (to set more state first)."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    for key, value in query.items():
        app.query_params[key] = value
    if page != "explore":
        app.switch_page(f"app_pages/{page}.py")
    return app.run() if run else app


def sample(name: str) -> np.ndarray:
    from ic.images import decode_image

    return decode_image(SAMPLES / name)


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    return sample("camera.png")


@pytest.fixture(scope="session")
def tripod_mask() -> np.ndarray:
    from ic.images import decode_mask

    return decode_mask(SAMPLES / "camera_tripod_mask.png", (512, 512))


@pytest.fixture(scope="session")
def lite0():
    from ic.classifiers import get_classifier

    return get_classifier("tf_efficientnet_lite0")


def cli_env(**extra) -> dict:
    """The environment for a `python -m ic` subprocess: offline, with this test's folders."""
    env = {k: v for k, v in os.environ.items()}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), **extra)
    return env


@pytest.fixture
def module_file(tmp_path) -> Path:
    """A TorchScript file standing in for big-lama.pt (see tests/lama_support.py)."""
    from lama_support import build_module

    return build_module(tmp_path / "fake-lama.pt")


@pytest.fixture
def server(module_file, monkeypatch):
    """Serves `module_file` as LaMa's weights on 127.0.0.1; the download URL and MD5 point at it."""
    from lama_support import WeightsServer

    payload = module_file.read_bytes()
    serving = WeightsServer(payload)
    monkeypatch.setenv("IC_LAMA_URL", serving.url)
    monkeypatch.setenv("IC_LAMA_MD5", hashlib.md5(payload).hexdigest())
    yield serving
    serving.close()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the session (tests/postgres_support.py)."""
    from postgres_support import Cluster, require_postgres

    cluster = Cluster(require_postgres())
    yield cluster
    cluster.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_location(request, tmp_path) -> dict:
    """Where a history lives, once per backend: {"folder": ...} (SQLite) or {"url": ...} (a new database)."""
    if request.param == "sqlite":
        return {"folder": tmp_path / "data"}
    return {"url": request.getfixturevalue("postgres").new_database()}


@pytest.fixture
def store(history_location):
    """A history store on each backend: a test that takes it runs against SQLite and PostgreSQL."""
    from ic.history import HistoryStore

    return HistoryStore(**history_location)


@pytest.fixture(scope="module")
def records(camera, lite0):
    """Three removals from camera.png (test_history.make_records), made once per module."""
    from test_history import make_records

    return make_records(camera, lite0, 3)


def sql(store, query: str, params=()) -> list:
    """Rows of `query` (? placeholders) on a store's own database, whichever backend: for what only the
    database can show (images stored once, nothing half-written)."""
    if query.lstrip().upper().startswith("SELECT"):
        with store.db.connect() as db:
            return db.execute(query, params).fetchall()
    with store.db.write() as db:
        db.execute(query, params)
    return []


def rendered(markdown: str) -> str:
    """What a person reads of an element's markdown source (what AppTest gives): backslash escapes and the
    invisible joiners that ui.text.plain puts into names from outside taken out."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


# --- one name per model and inpainter (ui/names.py) ------------------------------------------------------------------

def shown_strings(app) -> list[str]:
    """Every string an AppTest page shows a person: texts, labels, the options of its boxes as formatted, and the
    cells of its tables."""
    found = []
    for kind in ("markdown", "caption", "success", "info", "warning", "error", "header", "subheader", "title"):
        found += [e.value for e in getattr(app, kind) if isinstance(e.value, str)]
    found += [e.label for e in app.expander]
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in getattr(app, kind):
            found += [str(option) for option in widget.options]
    for frame in app.dataframe:
        value = frame.value
        found += [str(v) for column in value.columns for v in value[column] if isinstance(v, str)]
        found += [str(column) for column in value.columns]
    return found


def ids_shown(app) -> list[str]:
    """The model and inpainter ids (and "(bundled)") a page shows where their names belong."""
    import re

    # case matters: "telea" is an id, "OpenCV Telea" its name ("blur" and "ns" are words too, so not looked for)
    ids = re.compile(r"\b(tf_efficientnet_lite\d|resnet50\.a1_in1k|telea|patchmatch|lama)\b|\(bundled\)")
    return [text for text in shown_strings(app) if ids.search(rendered(text))]  # as read: "tf\\_…" is tf_…


def percents_off_rule(app) -> list[str]:
    """Strings that write a percentage otherwise than ic.numbers' rule (one decimal: "77.2%"); a confidence
    level ("95% CI", "a 95% interval") is a name, not a measurement."""
    import re

    level = r"95% (CI|interval|\(Clopper|Clopper|percentile|exact)"
    off = re.compile(r"(?<![\d.])(\d+%|\d+\.\d{2,}%)")
    return [text for text in shown_strings(app) if off.search(re.sub(level, "", text))]
