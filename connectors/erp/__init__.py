"""erp package."""
