"""app-interface native: the whole fleet read from the repository's own saas files, no config."""
