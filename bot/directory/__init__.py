"""Services directory: the vetted hotline table and the service map (directory.json)."""
