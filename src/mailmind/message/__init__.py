"""Mail content: MIME parsing, HTML sanitising, quote and signature splitting."""
