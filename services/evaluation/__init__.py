"""Evaluation: question bank, campaigns, invitations, anonymous responses, reports and trends."""
