"""The one door to the Kubernetes API, inventory files, and the API server's checks used offline."""
