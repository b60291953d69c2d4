"""The per-turn decision: does a question depend on the conversation? Pure functions over
Japanese examples (Sudachi reads them; no index, no model)."""

from __future__ import annotations

import pytest

from bot.answering.coverage import CoveragePolicy, check
from bot.answering.followup import decide, terms
from bot.domain import HistoryTurn, Passage

KYORYOKUTAI = HistoryTurn("地域おこし協力隊の任期後の定住に向けて、道の支援はありますか？", "…[1]")
DX = HistoryTurn("役場にDXに詳しい職員がいないのですが、道から支援はありますか？", "…[1]")
OUENDAN = HistoryTurn("「ほっかいどう応援団会議」とは何ですか？", "…[1]")
KUMIAI = HistoryTurn("特定地域づくり事業協同組合を作るには何が必要ですか", "…[1]")
KOFUKIN = HistoryTurn("地域のまちおこしに使える道の交付金はありますか？", "…[1]")
WEATHER_DECLINED = HistoryTurn("明日の札幌の天気を教えてください", "申し訳ありません…", answered=False)


@pytest.mark.parametrize("question, reason", [
    ("その窓口は隊員本人も使えますか？", "anaphora"),          # その: こ・そ・あ adnominal
    ("それはどこに申し込めばいいですか？", "anaphora"),         # それ: pronoun
    ("あの制度の申請方法は？", "anaphora"),
    ("そういった事例はどこで見られますか？", "anaphora"),       # そう + 言う
    ("さっきの話ですが、費用は町の負担ですか？", "anaphora"),   # back-reference
    ("対象は市町村だけ？", "ellipsis"),                          # facets and domain words only
    ("締切はいつですか？", "ellipsis"),
    ("連絡先を教えてください。", "ellipsis"),
    ("ポータルサイトもあるのですか？", "additive"),              # 「Xも」: in addition to what was asked
    ("都市と農山漁村の連携も含まれますか？", "additive"),
    ("ふるさと納税のほうはどうですか？", "parallel"),            # the same question for X
    ("ちなみに、研修会はありますか？", "continuation"),
])
def test_follow_ups(question, reason):
    decision = decide(question, [KYORYOKUTAI])
    assert decision.follow_up and decision.reason == reason
    assert decision.context == KYORYOKUTAI.question
    assert decision.retrieval_text(question) == f"{KYORYOKUTAI.question}\n{question}"


@pytest.mark.parametrize("history, question, reason", [
    # the three failing examples of issue 15: own topic words, so judged on their own
    ([DX], "明日の札幌の天気を教えてください", "own_topic"),
    ([OUENDAN], "除雪費の特別交付税の算定方法を教えてください", "own_topic"),
    ([KUMIAI], "北海道創生ジャーナルとは何ですか", "own_topic"),
    # an explicit switch wins over everything, even a demonstrative-looking opener
    ([KOFUKIN], "話は変わりますが、ふるさと納税の研修会はありますか？", "switch"),
    ([KOFUKIN], "別件ですが、その他の交付金はありますか？", "switch"),
    # nothing to follow: the first question, or only a declined one before it
    ([], "それはどこに申し込めばいいですか？", "first"),
    ([WEATHER_DECLINED], "では、地域おこし協力隊の定住支援はありますか？", "first"),
    # a longer question made of domain words only is complete
    ([KOFUKIN], "道はどんな考え方で市町村を支援しているのですか？", "own_topic"),
])
def test_standalone_questions(history, question, reason):
    decision = decide(question, history)
    assert not decision.follow_up and decision.reason == reason
    assert decision.retrieval_text(question) == question


def test_a_declined_turn_is_never_the_context():
    history = [DX, WEATHER_DECLINED]
    decision = decide("そのアドバイザーの費用は町の負担ですか？", history)
    assert decision.follow_up and decision.referent == 0 and decision.context == DX.question


def test_return_to_an_earlier_topic_finds_that_turn():
    history = [KUMIAI, HistoryTurn("今週末、旭川で雪は降りますか？", "…", answered=False), DX]
    decision = decide("さっきの組合の話ですが、派遣事業もできるのですか？", history)
    assert decision.follow_up and decision.referent == 0


def test_a_chain_of_follow_ups_keeps_the_topic_of_the_question_that_named_it():
    history = [HistoryTurn("役場の人手が足りないので、道の職員を派遣してもらえませんか？", "…[1]"),
               HistoryTurn("短期間だけ来てもらうこともできますか？", "…[1]")]
    decision = decide("それは何という制度ですか？", history)
    assert decision.follow_up and decision.referent == 0
    assert decision.context == history[0].question


def test_own_topic_question_keeps_a_fallback_context():
    decision = decide("応募が集まらない時はどうすればいいですか？", [KYORYOKUTAI])
    assert not decision.follow_up and decision.fallback_context == KYORYOKUTAI.question


def test_terms_read_topic_words_and_key_terms_with_sudachi():
    t = terms("国民健康保険税の税率改定の手続きを教えて")
    assert t.key_terms == ("国民健康保険税", "税率", "改定", "手続き")    # mode C compounds
    assert {"税率", "改定"} <= set(t.topic_words) and "手続き" not in t.topic_words   # a facet
    assert terms("ちなみに、相続税の基礎控除はいくらですか？").continuation
    assert "因み" not in terms("ちなみに、相続税の基礎控除はいくらですか？").topic_words
    assert terms("対象は市町村だけ？").topic_words == ()


def _passage(text: str, section: str = "VI 市町村戦略支援") -> Passage:
    return Passage(chunk_id="c", text=text, source="s.md", title="t", section=section, page=None,
                   doc_type="strategy", score=1.0)


def test_coverage_declines_a_follow_up_whose_key_terms_are_in_no_passage():
    news = [_passage("国民健康保険証の更新のお知らせ。新しい保険証を郵送します。", "広報")]
    gap = check(terms("国民健康保険税の税率改定の手続きを教えて").key_terms, news)
    assert set(gap.missing) >= {"税率", "改定"}
    assert CoveragePolicy().declines(gap)                     # a follow-up: declined
    standalone = CoveragePolicy().standalone()                 # standalone: answered, but says so
    assert not standalone.declines(gap) and {"税率", "改定"} <= set(standalone.noted(gap))
    ramen = [_passage("ラーメン店を営む店主にお話を伺いました。", "広報")]
    assert CoveragePolicy().declines(check(terms("おすすめのラーメン屋を教えて").key_terms, ramen))
    assert CoveragePolicy().strict().declines(check(terms("除雪費の特別交付税の算定方法").key_terms, news))


def test_coverage_notes_a_missing_facet_but_answers():
    fund = [_passage("地域の課題解決や地域活性化を図るため、市町村等の創意あふれる主体的な取組を支援。",
                     "VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり総合交付金")]
    gap = check(terms("地域づくり総合交付金の締切はいつですか？").key_terms, fund)
    assert gap.missing == ("締切",)
    policy = CoveragePolicy()
    assert not policy.declines(gap) and policy.noted(gap) == ("締切",)   # a facet is always named
    covered = check(terms("地域づくり総合交付金はどんな取組を支援していますか？").key_terms, fund)
    assert covered.missing == () and policy.noted(covered) == ()


def test_masked_personal_data_is_no_key_term():
    t = terms("DXのアドバイザー派遣について、担当の〔電話番号〕か〔メール〕に連絡をください。"
              "私のマイナンバーは〔個人番号〕です。")
    assert not {"電話番号", "メールアドレス"} & set(t.key_terms)
    assert {"DX", "アドバイザー", "派遣"} <= set(t.key_terms)


@pytest.mark.parametrize("question,expected", [
    ("そのうち人的支援にはどんなものがありますか？", ["人的支援"]),
    ("その中の情報支援について詳しく教えてください。", ["情報支援"]),
    ("財政的支援の内容は？", ["財政的支援"]),
    ("デジタル人材の派遣もありますか？", ["デジタル人材"]),
    ("道の市町村支援にはどんなメニューがありますか？", []),   # only domain words
])
def test_phrases_keep_the_noun_phrases_sudachi_splits(question, expected):
    from bot.answering.followup import phrases

    assert phrases(question) == expected


def test_rescoring_counts_a_phrase_only_where_it_is_written_whole():
    from bot.answering.rescoring import Focus, features
    from ingest.tokenizer import tokenize

    focus = Focus.of("その中の情報支援について詳しく教えてください。")
    assert "情報支援" in focus.phrases
    heading = features(focus, "振興局が中心となって課題を把握・共有。", {"section": "VI > 2 情報支援 > (1) 課題把握"},
                       tokenize)
    apart = features(focus, "「資金・人・情報」の3つの側面から積極的に支援を行う。", {"section": "VI 市町村戦略支援"},
                     tokenize)
    assert heading[0] > apart[0]
