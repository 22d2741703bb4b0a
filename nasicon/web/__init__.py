"""The lab's web page: the queue, records with raw files, samples, rounds and campaign
progress behind real logins, and a JSON API under ``/api/v1`` (``nasicon web``).

==================  ======================================================================
``app``             :func:`create_app` (the FastAPI application), security headers
``context``         what every request reaches: settings, registry, templates
``security``        sessions (cookie), CSRF, API tokens (Bearer), roles
``errors``          NasiconError -> status code; JSON errors of the API
``login``           the login and logout routes
``pages``           the read pages: queue, samples, rounds, campaign progress
``record_pages``    the record forms: typed, uploaded (preview, then save), batch, retract
``admin``           the users page (admins)
``api``             the JSON API (``api_models`` its request models)
``actions``         every write, through :mod:`flows.services` (the CLI's own functions)
``views``           read-side data shared by pages and API
``uploads``         uploaded raw files kept by SHA-256 until confirmed
==================  ======================================================================

Every write goes through the same service functions as the CLI, in one transaction, with
the same one-line errors; ``recorded_by`` is the logged-in user.
"""
