"""The `poh` command line."""
