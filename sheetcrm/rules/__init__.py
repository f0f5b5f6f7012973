"""Pure rules on a validated Book: no files, no clock, no network."""
