"""A question parsed once: every cue the stages read, from its text alone."""

from index.search.query import Query


def test_a_question_is_parsed_into_the_cues_the_stages_read() -> None:
    query = Query.read("How many crew members struck in 2005?")
    assert query.terms == query.content_terms == ("crew", "members", "struck", "2005")
    assert (query.kind, query.head, query.counted) == ("number", "crew", "crew")
    assert query.numbers == frozenset({"2005"}) and not query.amount and not query.current
    assert query.vec.size == query.topic_vec.size == 0  # parsed only, not embedded


def test_content_terms_leave_out_only_the_words_that_ask_for_the_current_state() -> None:
    assert Query.read("what's the latest on the ferry strike?").content_terms == ("ferry", "strike")
    assert Query.read("what is happening with the strike now").content_terms == ("strike",)
    assert Query.read("has the dispute ended?").content_terms == ("dispute",)
    # without a current-state cue every term counts, "week" and "news" too
    query = Query.read("which news channel won in the week of the awards")
    assert not query.current
    assert query.content_terms == query.terms == ("news", "channel", "won", "week", "awards")


def test_what_happened_next_asks_for_the_current_state() -> None:
    query = Query.read("what happened next in the Marrick bus strike?")
    assert query.current and query.content_terms == ("marrick", "bus", "strike")
    assert Query.read("what has happened since then?").current
    assert not Query.read("what happened to the bus?").current  # what happened, not what came after


def test_the_head_noun_is_a_content_term_or_none() -> None:
    assert Query.read("which club did he join?").head == "club"
    assert Query.read("what latest news is there now?").head is None  # a time word is no term
    assert Query.read("how much will the bridge cost?").amount
    assert Query.read("how much will the bridge cost?").counted is None  # only "how many" counts
