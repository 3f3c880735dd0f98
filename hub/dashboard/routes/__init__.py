"""One module per page (or pair of pages): each exposes ``router``."""
