"""Shinkai node API v2 (`/v2/...`), per ../shared/reference/seed-apis.md §1."""
