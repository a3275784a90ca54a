"""kb: a personal knowledge-base CLI for Markdown notes, Korean-aware."""
