from rest_framework.routers import DefaultRouter

from .negotiation import ApiRootView
from .views import BookViewSet


class ApiRouter(DefaultRouter):
    """No `/api/books.json`-style suffix routes: the schema does not declare them."""

    include_format_suffixes = False
    APIRootView = ApiRootView


router = ApiRouter()
router.register("books", BookViewSet, basename="book")

urlpatterns = router.urls
