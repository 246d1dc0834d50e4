"""Interactive Classification: the engine, importable without Streamlit.

Pages and the command line reach it through one object, the workbench (ic.app); the project's layout is in
docs/development.md.
"""

__version__ = "0.1.0"
