"""The three Capitals services: scheduling, registration and evaluation."""
