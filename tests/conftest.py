"""Shared fixtures. The engine is the production engine on the repository's data."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.bootstrap import default_engine
from bot.channels.terminal import TerminalChat
from bot.engine.engine import Engine
from bot.engine.types import LANGS


@pytest.fixture(scope="session")
def engine() -> Engine:
    return default_engine()


@pytest.fixture
def chat(engine: Engine) -> Callable[..., TerminalChat]:
    """A fresh terminal conversation, already past the language menu and welcome."""

    def make(lang: str = "es", welcomed: bool = True) -> TerminalChat:
        conversation = TerminalChat(engine, lang=lang)
        if welcomed:
            conversation.say("hola")
            conversation.say("1")  # "yes, I can write now" -> main menu
        return conversation

    return make


@pytest.fixture(params=LANGS)
def lang(request: pytest.FixtureRequest) -> str:
    return request.param
