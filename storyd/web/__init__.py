"""The web front: REST API, websockets, the OBS overlay and the admin page.

`storyd.web.app.create_app(operator)` builds the Quart-Trio app over the Operator port
(storyd/control/operator.py); `storyd.web.serve.serve_web` runs it under hypercorn inside the
daemon's nursery. Kept import-free so that importing a submodule (security, openapi) does not
pull in Quart.
"""
