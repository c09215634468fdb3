"""Who may act on a training: staff of its host country (401, 403; 404 for an unseen draft).

A guard runs before the body is read, so a caller who may not act learns that before
anything about their input; commands do not check again."""

from __future__ import annotations

from services.scheduling import queries
from shared.auth import host_country_guard

manages_training = host_country_guard("training_id", queries.host_of_visible_training, "training")
