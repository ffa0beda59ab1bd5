"""Command-line options: base (shared), train, test and pixelize option sets."""
