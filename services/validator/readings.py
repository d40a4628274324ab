"""The reader's facts for the documents being evaluated (``document_facts``).

One record per document (``_id`` = the document's id), read with the application
(``services.validator.loading``) and put under ``document["reading"]``; absent while the
document is being read.
"""

from __future__ import annotations

FACTS = "document_facts"
