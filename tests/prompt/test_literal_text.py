from studio.prompt.literal_text import escape_brackets, unescape_brackets


def test_brackets_escape_once_and_read_plain():
    assert unescape_brackets(r"smart falcon \(umamusume\) \[v2\]") == "smart falcon (umamusume) [v2]"
    assert escape_brackets("falcon (umamusume)") == r"falcon \(umamusume\)"
    assert escape_brackets(r"falcon \(umamusume\)") == r"falcon \(umamusume\)"  # not doubled
    assert escape_brackets("plain words") == "plain words"
