"""What moto routes to the two services (its urls.py form, read by BaseBackend.urls through
the backend's module name): every path of either endpoint goes to one dispatch, which
finds the API and operation from X-Amz-Target or the rpc-v2 path (handlers.py)."""

from .handlers import ConnectionsResponse

# In models.SERVICES' order: codeconnections, codestar-connections.
url_bases = [
    r"https?://codeconnections\.(.+)\.amazonaws\.com",
    r"https?://codestar-connections\.(.+)\.amazonaws\.com",
]

# "/" too: an empty path answers the service's error, not the web framework's page.
url_paths = {"{0}/$": ConnectionsResponse.dispatch, "{0}/.*$": ConnectionsResponse.dispatch}
