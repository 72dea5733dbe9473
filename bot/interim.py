"""Honest stand-ins for capabilities that are not built yet.

Each says plainly what the bot cannot do yet and gives the vetted hotlines, which work
from anywhere in Peru. They are replaced by the real handlers of the same name when
those capabilities land, without changing any flow.
"""

from __future__ import annotations

from bot.directory.hotlines import Hotline, describe, ordered, paginate
from bot.engine.actions import ActionResult, Context, Registry
from bot.engine.i18n import N_


def handlers(lines: dict[str, Hotline]) -> Registry:
    registry = Registry()

    def with_hotlines(ctx: Context, note: str) -> ActionResult:
        blocks = [describe(h, ctx.t) for h in ordered(lines)]
        return ActionResult(pages=paginate(blocks, ctx.t(note)))

    @registry.register("cases.request_human")
    def request_human(ctx: Context) -> ActionResult:
        return with_hotlines(
            ctx,
            N_(
                "Todavía no puedo conectarte con una persona desde este chat. Estas líneas te atienden por teléfono:"
            ),
        )

    return registry
