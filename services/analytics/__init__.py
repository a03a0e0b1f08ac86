"""Park OS analytics: Faust workers that keep the park's live numbers, and their gRPC API."""
