"""What the engine accepts as input, in one place, so that the readers, the ingest and the README agree.

Each limit turns a hostile or careless input into a problem the user is told about (or, for a run-on
sentence, into pieces of a quotable size) instead of a traceback, a stall or an unquotable "sentence".
"""

from __future__ import annotations

# An article's text after cleaning: several times the longest news feature. Longer is a book or a dump,
# and would take minutes to embed; the user is asked to split it.
MAX_ARTICLE_CHARS = 500_000
# A "sentence" longer than this is a run-on (a list, a table flattened, text without punctuation): it
# is split at sentence-like ends, clause boundaries, commas or spaces, never quoted whole.
MAX_SENTENCE_CHARS = 500
# One line of a JSON Lines file holds one article (text, title and metadata, JSON-escaped).
MAX_LINE_CHARS = 4 * MAX_ARTICLE_CHARS
# A text, Markdown or HTML file is one article; a page far past this is not one.
MAX_DOCUMENT_BYTES = 10_000_000
# Nesting of JSON arrays and objects: an article object with a list of tags is 3 deep.
MAX_JSON_DEPTH = 20
# The id, url, source and published fields of a JSON article.
MAX_FIELD_CHARS = 2_000
# A title longer than this is shortened (at a word) when read.
MAX_TITLE_CHARS = 300
# A title made from the text's first line (an article or feed item given none) is shortened to this.
MAX_FIRST_LINE_TITLE_CHARS = 100
# Answers or articles one question may ask for (`top_k`, `--top-k`, the commands' count options).
MAX_TOP_K = 50
