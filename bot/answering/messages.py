"""Fixed Japanese texts of the answering layer (shown to officers)."""

DECLINE_TEXT = (
    "申し訳ありません。ご質問の内容について、登録されている資料の中に十分な記載が見つかりませんでした。"
    "確かな根拠がないまま推測でお答えすることは控えさせていただきます。\n"
    "このご相談は担当職員にお伝えしましたので、職員からの連絡をお待ちください。"
)

LLM_FALLBACK_NOTE = "（回答生成サービスから回答を得られなかったため、資料の抜粋でお答えします。）"
NO_CITATION_NOTE = "（生成された回答の根拠を資料で確認できなかったため、資料の抜粋でお答えします。）"
EMPTY_QUESTION_TEXT = "ご質問の内容が空でした。お手数ですが、相談内容を入力してください。"


def partial_note(missing) -> str:
    """The part of a question the documents do not cover, said plainly (after the answer)."""
    terms = "」「".join(missing)
    return (f"※ ご質問の「{terms}」については、引用した資料に記載が見つかりませんでした。"
            "上記は資料に記載のある範囲でのお答えです。その点は担当職員にご確認ください。")
