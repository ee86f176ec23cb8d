"""Storage adapters: PynamoDB models of the single table and the repositories that use them."""
