"""Celery task that runs an uploaded import (issue 5). Filled in by the importer work."""
