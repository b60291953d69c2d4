"""The chat model: langchain-openai `ChatOpenAI` (any OpenAI-compatible endpoint) or
`AzureChatOpenAI`, Chat Completions API, with base URL, model, timeout and retries from settings."""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel


def build_chat_model(settings) -> BaseChatModel | None:
    """None when no LLM is configured (extractive mode)."""
    if not settings.llm_configured:
        return None
    if settings.azure_openai_endpoint and settings.azure_openai_deployment:
        from langchain_openai import AzureChatOpenAI

        key = settings.azure_openai_api_key or settings.openai_api_key
        return AzureChatOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            azure_deployment=settings.azure_openai_deployment,
            api_version=settings.azure_openai_api_version,
            api_key=key.get_secret_value() if key else None,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            temperature=0,
            use_responses_api=False,
        )
    from langchain_openai import ChatOpenAI

    key = settings.openai_api_key
    return ChatOpenAI(
        base_url=settings.openai_base_url,
        # Local OpenAI-compatible servers often need no key; the client still requires a value.
        api_key=key.get_secret_value() if key else "not-needed",
        model=settings.llm_model,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        temperature=0,
        use_responses_api=False,
    )


def model_name(settings) -> str | None:
    if not settings.llm_configured:
        return None
    if settings.azure_openai_endpoint and settings.azure_openai_deployment:
        return f"azure:{settings.azure_openai_deployment}"
    return settings.llm_model
