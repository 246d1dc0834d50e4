"""Streamlit helpers shared by the pages: cached resources, durable state, the canvas, result views.

This package may import Streamlit; the engine in ic/ never does.
"""
