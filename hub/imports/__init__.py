"""CSV import and export of store records: reading and decoding files, formula neutralisation, column maps."""
