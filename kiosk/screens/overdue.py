"""``overdue``: the overdue parcels (``order:<number>`` opens one); ``back``, ``logout``; a long
list a page at a time (``page_prev``/``page_next``)."""

from __future__ import annotations

import pygame

from . import widgets
from .returns import staff_list
from .view import Button, View


def render(surface: pygame.Surface, view: View, ctx: widgets.RenderContext) -> list[Button]:
    return staff_list(surface, view, ctx, "overdue.title", "overdue.none")
