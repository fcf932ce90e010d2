"""Finance: payments matched to invoices (used by the payment connector and by reviewers)."""
