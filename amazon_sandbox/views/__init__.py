"""The sandbox's HTTP endpoints, one module per Amazon service plus the control API."""
