"""AI integrations: local embeddings and remote generation providers behind small protocols."""
