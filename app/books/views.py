"""The website: a paginated list of books and a page per book."""

from django.views.generic import DetailView, ListView

from .models import Book


class BookListView(ListView):
    model = Book
    paginate_by = 20
    template_name = "books/book_list.html"
    context_object_name = "books"


class BookDetailView(DetailView):
    model = Book
    template_name = "books/book_detail.html"
    context_object_name = "book"
