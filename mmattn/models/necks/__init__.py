"""Necks that place mmattn blocks on levels of a feature pyramid."""
