"""The API's routes, one router per area: users and projects, runs and artifacts, event streams."""
