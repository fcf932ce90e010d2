"""People: org sync (employees and org units from HR into users, teams and managers) and offboarding."""
