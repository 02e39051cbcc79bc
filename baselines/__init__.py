"""Classical counterparts of every hybrid, thin over the established libraries."""
