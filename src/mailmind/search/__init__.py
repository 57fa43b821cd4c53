"""Search: keyword, semantic and hybrid search, Ask your inbox, related mail."""
