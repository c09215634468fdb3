"""The `capitals` command line: start, serve, migrate, mint tokens and load the demo series."""
