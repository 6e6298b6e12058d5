from studio.prompt.prompt_diff import distinct_words, prompt_words


def test_words_drop_weights_and_keep_lora_tags_whole():
    assert prompt_words("a (knight:1.2), <lora:ink wash:0.8> castle.") == [
        "a",
        "knight",
        "<lora:ink wash:0.8>",
        "castle",
    ]


def test_distinct_words_are_those_no_other_prompt_has():
    others = ["a knight at dusk, wide shot", "a knight at dawn"]
    assert distinct_words("a Knight at dusk, red cape, red", others) == ["red", "cape"]
    assert distinct_words("a knight", others) == []
    assert distinct_words("a knight", []) == []
