"""One OpenID Connect relying-party client on Authlib (used by the MitID broker client, the portal).

``client.OIDCClient`` does discovery, the authorization request (state, nonce, PKCE S256), the
RFC 9207 ``iss`` check of the response, the code exchange, ID-token verification against the
provider's JWKS (refetched on key rotation, rate-limited) and userinfo. What a provider's claims
mean (a CPR, an assurance level) stays with the caller.
"""
