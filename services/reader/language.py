"""Language detection with lingua, over the languages exporters' documents come in."""

from __future__ import annotations

from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LANGUAGES = (
    Language.ENGLISH,
    Language.CHINESE,
    Language.JAPANESE,
    Language.KOREAN,
    Language.FRENCH,
    Language.GERMAN,
    Language.SPANISH,
    Language.PORTUGUESE,
    Language.ITALIAN,
    Language.DUTCH,
    Language.RUSSIAN,
    Language.VIETNAMESE,
    Language.THAI,
    Language.INDONESIAN,
    Language.TURKISH,
    Language.POLISH,
)
SAMPLE = 3000  # characters: enough to decide, bounded in time


@lru_cache(maxsize=1)
def detector() -> LanguageDetector:
    """One detector per process (its models take a moment to load)."""
    return LanguageDetectorBuilder.from_languages(*LANGUAGES).build()


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when there is too little text."""
    sample = " ".join(text.split())[:SAMPLE]
    if len(sample) < 3:
        return None
    language = detector().detect_language_of(sample)
    return language.iso_code_639_1.name.lower() if language is not None else None
