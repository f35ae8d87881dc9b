"""HTTP layer: the GraphQL endpoint, GraphiQL, health and metrics routes."""
