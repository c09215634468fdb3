"""What the three Capitals services have in common, and nothing of any one service's domain."""
