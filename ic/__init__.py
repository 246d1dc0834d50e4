"""Interactive Classification: the engine, importable without Streamlit.

Modules: images (decode, masks), inpaint (methods), classifiers (registry,
loading, prediction), experiment (the edit pipeline), bench and cli.
"""

__version__ = "0.1.0"
