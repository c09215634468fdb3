"""Who may see and change what: the guards of the staff routes."""

from __future__ import annotations

from services.evaluation import queries
from shared.auth import host_country_guard

# The secretariat, or an organiser of the training's host country. A guard rather than a
# check in the handler, so 401/403 come before a bad body gets its 400.
manages_training = host_country_guard("training_id", queries.host_of_training, "training")
