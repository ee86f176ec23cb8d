"""HTTP adapters: Chalice blueprints by area, the route policy registry and the error envelope."""
