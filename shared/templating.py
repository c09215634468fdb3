"""What every template of every service can use besides its own context."""

from __future__ import annotations

import jinja2

from shared import auth, i18n
from shared.moments import local_moment
from shared.settings import Settings
from shared.staff import secretariat_areas, staff_areas


def configure(
    environment: jinja2.Environment, settings: Settings, service: str, prefix: str
) -> None:
    """What every template of every service can use besides its own context."""
    environment.globals.update(
        staff_areas=staff_areas(settings),
        secretariat_areas=secretariat_areas(settings),
        signed_in=auth.staff_or_none,
        service=service,
        # Put in front of every link to the service's own pages: `{{ root }}/staff/`.
        root=prefix,
    )
    # `{{ moment | local_moment(zone) }}`: a moment in the capital's time, the zone named.
    environment.filters["local_moment"] = local_moment
    i18n.install(environment)
