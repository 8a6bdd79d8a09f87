"""The hasher for client secrets (R-SEC-1: hashed at rest).

Client secrets are 256-bit random values made by the platform, not passwords people choose: a
salted PBKDF2 with few rounds is already beyond brute force, and the token endpoint does not
pay a password hasher's deliberate cost on every request.
"""

from __future__ import annotations

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class ClientSecretHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sha256_client_secret"
    iterations = 1000
