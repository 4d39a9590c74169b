"""gail-cli: GAIL from the command line."""
