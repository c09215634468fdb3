"""`capitals demo`: the edition by nomination, with national focal points for three countries."""

from __future__ import annotations

from typing import Any

# Country, focal point: who names each country's participants for the edition by nomination.
FOCAL_POINTS = (
    ("EE", "Kadri Saar", "kadri.saar@mfa.example.ee"),
    ("LT", "Rūta Kazlauskienė", "ruta.kazlauskiene@urm.example.lt"),
    ("FI", "Mikko Laine", "mikko.laine@formin.example.fi"),
)
PLACES_PER_COUNTRY = 3


def name_focal_points(demo: Any, training: dict[str, Any]) -> None:
    """Each country gets its places (its quota) and a focal point, who is mailed their link."""
    quotas = {country: PLACES_PER_COUNTRY for country, _, _ in FOCAL_POINTS}
    demo.call("PUT", "registration", f"/trainings/{training['id']}/quotas", json=quotas)
    for country, name, email in FOCAL_POINTS:
        demo.call(
            "POST",
            "registration",
            f"/trainings/{training['id']}/focal-points",
            json={"country": country, "name": name, "email": email},
        )
