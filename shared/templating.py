"""What every template of every service can use besides its own context."""

from __future__ import annotations

import jinja2

from shared import auth, i18n, languages
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
        # The participant pages' language switcher (shared/templates/base.html).
        switcher_languages=languages.switcher,
    )
    i18n.install(environment)
