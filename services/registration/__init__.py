"""Registration: participants, registrations, seats, quotas, waitlist and attendance."""
