"""What moto routes to the service (its urls.py form, read by BaseBackend.urls through the
backend's module name): every path of the endpoint goes to one dispatch, which finds the
operation from the method and path as the botocore model declares them (handlers.py)."""

from .handlers import NotificationsResponse

url_bases = [r"https?://codestar-notifications\.(.+)\.amazonaws\.com"]

# "/" too: an empty path answers the service's JSON error, not the web framework's page.
url_paths = {"{0}/$": NotificationsResponse.dispatch, "{0}/.*$": NotificationsResponse.dispatch}
