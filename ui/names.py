"""One name for each model and inpainter on every page (ic.app's titles: "EfficientNet-Lite0", "OpenCV Telea"),
never an id ("tf_efficientnet_lite0", "telea") on one page and a title on another. The ids stay in what a researcher
takes away (CSV and Parquet rows, History's exports)."""

from ic.app import inpainter_title, model_title


def model(name: str) -> str:
    return model_title(name)


def inpainter(name: str) -> str:
    return inpainter_title(name)


def setting(model_name: str, inpainter_name: str) -> str:
    """A classifier with an inpainter, as the slices and Compare's sections name them."""
    return f"{model_title(model_name)} · {inpainter_title(inpainter_name)}"
