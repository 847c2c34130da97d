"""The front door: `Session` and the typed results it returns, and their JSON form."""
