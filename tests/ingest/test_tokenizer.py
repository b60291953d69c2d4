from ingest.tokenizer import tokenize


def test_hiragana_and_katakana_spellings_match():
    assert "ごみ" in tokenize("ゴミの出し方")
    assert set(tokenize("ゴミ")) == set(tokenize("ごみ"))


def test_particles_auxiliaries_and_symbols_are_dropped():
    tokens = tokenize("協力隊への支援はありますか？")
    for dropped in ("へ", "の", "は", "か", "？", "?", "ます"):
        assert dropped not in tokens
    assert "協力" in tokens and "支援" in tokens


def test_nfkc_and_lowercase():
    assert "dx" in tokenize("ＤＸの推進")
    assert tokenize("ＤＸ") == tokenize("dx")


def test_normalized_form_unifies_variants():
    # Sudachi's normalized form maps spelling variants to one form.
    assert tokenize("シュミレーション") == tokenize("シミュレーション")


def test_very_long_text_is_tokenized_in_pieces():
    text = "地域おこし協力隊の定住を支援する。\n" * 5000  # far above Sudachi's input limit
    tokens = tokenize(text)
    assert tokens.count("定住") == 5000


def test_empty():
    assert tokenize("") == []
    assert tokenize("。、！") == []
