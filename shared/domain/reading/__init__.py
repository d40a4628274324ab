"""Document facts: what a document's text and pixels say (pure models and text parsing)."""

from shared.domain.reading.dates import find_dates
from shared.domain.reading.facts import FoundDate, NameMatch, PhotoFacts, ReadingFacts
from shared.domain.reading.numbers import find_numbers, normalise_number
from shared.domain.reading.scripts import chinese_share

__all__ = [
    "FoundDate",
    "NameMatch",
    "PhotoFacts",
    "ReadingFacts",
    "chinese_share",
    "find_dates",
    "find_numbers",
    "normalise_number",
]
