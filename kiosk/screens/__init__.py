"""Screens: draw a :class:`~kiosk.screens.view.View` onto a pygame surface; translate input.

``kiosk.screens.view`` is plain data (no pygame) and safe to import from the flow. The pygame
parts live in ``kiosk.screens.render`` (Renderer, needs_redraw) and ``kiosk.screens.inputs``
(translate, EventTranslator, KeyboardWedge).
"""
