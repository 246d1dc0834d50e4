"""The Explore page, headless through Streamlit's AppTest."""

from streamlit.testing.v1 import AppTest

from conftest import ROOT


def test_page_loads_offline_and_classifies_the_first_sample():
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert table.iloc[0]["class"] == "tripod"
