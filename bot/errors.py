"""Domain errors. The Slack layer turns them into a polite reply, the CLI into one line and a
non-zero exit. `user_message` is the Japanese text shown to people."""

from __future__ import annotations


class ConsultError(Exception):
    """Base class of every error this product raises on purpose."""

    user_message = "申し訳ありません。処理中に問題が発生しました。時間をおいて再度お試しください。"

    def __init__(self, detail: str | None = None, *, user_message: str | None = None):
        super().__init__(detail or self.user_message)
        if user_message:
            self.user_message = user_message


class ConfigError(ConsultError):
    user_message = "設定に問題があります。管理者にお問い合わせください。"


class KnowledgeBaseMissing(ConsultError):
    user_message = (
        "申し訳ありません。現在、資料の索引が準備できていないため回答できません。"
        "管理者が `consult ingest` を実行するまでお待ちください。"
    )


class KnowledgeBaseUnavailable(ConsultError):
    user_message = (
        "申し訳ありません。現在、資料の検索サービスに接続できないため回答できません。"
        "このご相談は担当職員に引き継ぎました。しばらくしてから再度お試しください。"
    )


class LLMUnavailable(ConsultError):
    user_message = "回答生成サービスに接続できませんでした。資料の抜粋でお答えします。"


class CaseNotFound(ConsultError):
    user_message = "指定された相談が見つかりませんでした。"


class NotAuthorized(ConsultError):
    user_message = "申し訳ありません。この操作は担当職員のみ行えます。"


class StoreUnavailable(ConsultError):
    user_message = "相談記録のデータベースに接続できませんでした。"


class ActionNotAllowed(ConsultError):
    """A staff action the case's current status does not allow (e.g. assigning a resolved case),
    or one that would change nothing. `user_message` says why, politely."""

    user_message = "申し訳ありません。この相談の現在の状態では、その操作は行えません。"


class InvalidInput(ConsultError):
    """Text a person typed that cannot be accepted (empty, too long)."""

    user_message = "入力内容を確認してください。"


class NotDelivered(ConsultError):
    """A staff reply could not be posted into the officer's thread (nothing was recorded)."""

    user_message = ("申し訳ありません。相談者のスレッドに回答を投稿できませんでした。"
                    "時間をおいて再度お試しください。")
