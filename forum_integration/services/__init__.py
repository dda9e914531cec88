"""Adapters from each platform (bundled forum, Discourse) to the engine's action services."""
