"""The notebooks shipped with orchestrator_kit (package data ``orchestrator_kit.notebooks``)."""
