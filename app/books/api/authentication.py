"""API tokens in `Authorization: Bearer <key>` as well as DRF's `Token <key>`.

Clients generated from the schema send the standard `Bearer` prefix. DRF's
TokenAuthentication ignores a header with another keyword, so such a client
read as an anonymous user without noticing and only its writes got a 401.
Both prefixes now authenticate, and a bad key under either is a 401
(docs/app.md#the-api-contract).
"""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

KEYWORDS = (b"bearer", b"token")


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        # DRF's own checks, with either keyword (compared case-insensitively, as DRF does).
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in KEYWORDS:
            return None
        if len(auth) == 1:
            raise exceptions.AuthenticationFailed("Invalid token header. No credentials provided.")
        if len(auth) > 2:
            raise exceptions.AuthenticationFailed("Invalid token header. Token string should not contain spaces.")
        try:
            key = auth[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(
                "Invalid token header. Token string should not contain invalid characters."
            ) from None
        return self.authenticate_credentials(key)
