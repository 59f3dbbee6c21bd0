"""Web areas, one blueprint package each (views.py exposes `bp`); discovered by the factory."""
