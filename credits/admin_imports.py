"""Admin upload of events files (issue 5). Filled in by the importer work."""
