"""From the HTTP principal to the domain's actor."""
from __future__ import annotations

from chalicelib.api.auth import Principal
from chalicelib.domain.ticket import Actor


def actor_of(principal: Principal | None) -> Actor:
    """The domain actor for a signed-in caller."""
    assert principal is not None, "routes that act need a signed-in caller"
    return Actor(username=principal.username, role=principal.role, department=principal.department,
                 district=principal.district)
