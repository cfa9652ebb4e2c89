"""The invented demo unit behind `make run`: users per persona, patients, an agenda and a
prison client for the bridge. It may import every app; no app imports it."""
