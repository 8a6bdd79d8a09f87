"""OIDC client of the external MitID broker (client.py) and the test broker for demo and tests."""
