"""Load N generated books fast, for demos and benchmarks.

Rows go in with PostgreSQL's COPY in batches, which keeps a million books
practical (tens of seconds, flat memory). ISBNs are valid ISBN-13s from a
reserved block (979-8-9...) numbered after the highest one already loaded, so
the command can be run again to add more.
"""

import io
import random

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from books.isbn import isbn13_check_digit
from books.models import Book

SAMPLE_PREFIX = "97989"  # 5 digits + 7 sequence digits + check digit = 13
SEQUENCE_DIGITS = 7
CAPACITY = 10**SEQUENCE_DIGITS

WORDS = (
    "river night garden stone silver winter letters machine ocean empire shadow"
    " light forest city memory glass journey secret storm harbor mountain paper"
).split()
FIRST_NAMES = "Ada Alan Grace Edsger Barbara Donald Margaret Ken Frances Niklaus".split()
LAST_NAMES = "Lovelace Turing Hopper Dijkstra Liskov Knuth Hamilton Thompson Allen Wirth".split()


def sample_isbn(sequence: int) -> str:
    first_twelve = f"{SAMPLE_PREFIX}{sequence:0{SEQUENCE_DIGITS}d}"
    return first_twelve + isbn13_check_digit(first_twelve)


def copy_field(text: str) -> str:
    """Escape a value for COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class Command(BaseCommand):
    help = "Load N generated sample books (fast bulk load with COPY)."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, help="how many books to add")
        parser.add_argument("--batch-size", type=int, default=50_000)
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable titles")

    def handle(self, count, batch_size, seed, **options):
        if count < 0:
            raise CommandError("count must be zero or more")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        rng = random.Random(seed)
        last = (
            Book.objects.filter(isbn__startswith=SAMPLE_PREFIX).order_by("-isbn").values_list("isbn", flat=True).first()
        )
        start = int(last[len(SAMPLE_PREFIX) : 12]) + 1 if last else 0
        if start + count > CAPACITY:
            raise CommandError(f"the sample ISBN block holds {CAPACITY} books; {start} are loaded already")

        table = Book._meta.db_table
        loaded = 0
        with transaction.atomic(), connection.cursor() as cursor:
            while loaded < count:
                size = min(batch_size, count - loaded)
                buffer = io.StringIO()
                for sequence in range(start + loaded, start + loaded + size):
                    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4))).title()
                    subtitle = f"Volume {sequence % 12 + 1}" if sequence % 3 == 0 else ""
                    author = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                    buffer.write(
                        f"{copy_field(title)}\t{copy_field(subtitle)}\t{copy_field(author)}\t{sample_isbn(sequence)}\n"
                    )
                with cursor.copy(f'COPY "{table}" (title, subtitle, author, isbn) FROM STDIN') as copy:
                    copy.write(buffer.getvalue())
                loaded += size
        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{table}"')
        self.stdout.write(self.style.SUCCESS(f"Loaded {loaded} sample books."))
