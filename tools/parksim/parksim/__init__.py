"""The park simulator: traffic through the public gRPC APIs, and a live terminal view."""
