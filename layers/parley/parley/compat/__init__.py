"""Translators between the four seed APIs' wire shapes and Parley's services (one data model).

Each API has its own error shape; a compat handler is made with that API's resolver factory
(e.g. ``parley.compat.shinkai.wire.shinkai_api()``), which maps domain errors to it.
"""
