"""Hydra configuration package (found via pkg://gail_cli.conf)."""
