"""finance package."""
