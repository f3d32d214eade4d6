"""Domain writes. Each service is a keyword-only function that runs in one transaction."""
