"""Domain reads. Every selector takes the merchant explicitly."""
