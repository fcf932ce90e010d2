"""hr package."""
