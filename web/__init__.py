"""markwatch web: review and enforcement pages and the /api/v1 JSON API (nothing imports it)."""
