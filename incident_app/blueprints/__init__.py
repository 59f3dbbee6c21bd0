"""Web areas, one blueprint package each (views.py exposes `bp`); each views module is listed in
`incident_app.web.BLUEPRINTS`, which the factory registers."""
