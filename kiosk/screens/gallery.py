"""Every screen with realistic demo content, rendered to PNG (docs/screens/<lang>/<WxH>/<screen>.png).

``python -m kiosk.screens.gallery [--out docs/screens] [--size 800x480 ...] [--sim]``
``demo_views(lang)`` gives one View per screen; tests render the same views. ``extra_views(lang)``
adds more situations (long lists, a doorless locker parcel, return states, alarms, lockout,
member-code-only...), written beside them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from .view import SCREENS, DoorRow, Message, OrderDetail, OrderRow, StaffChoice, View

SIZES = ((800, 480), (1280, 800))

# staff names are shown in full on staff screens (colleagues must tell each other apart)
STAFF = (
    StaffChoice("s_1", "陳小華"),
    StaffChoice("s_2", "林美君"),
    StaffChoice("s_3", "張志偉"),
    StaffChoice("s_4", "黃淑玲"),
)


def demo_views(lang: str = "zh-TW") -> dict[str, View]:
    """One View per screen name, filled like a real session would fill it."""
    orders = (
        OrderRow("A1002", "T-shirt x2", overdue=True, arrived_at="2026-11-01T03:00:00Z", locker_door=2),
        OrderRow("A1005", "運動鞋 x1", arrived_at="2026-11-20T03:00:00Z", locker_door=5),
        OrderRow("A1007", "Coffee beans 250g x3", arrived_at="2026-11-24T08:30:00Z", locker_door=7),
    )
    overdue = (
        OrderRow(
            "A1002", "T-shirt x2", overdue=True, arrived_at="2026-11-01T03:00:00Z", customer_masked="王*明 / 0912***678"
        ),
        OrderRow(
            "A0998",
            "書籍 x4",
            overdue=True,
            arrived_at="2026-10-28T05:10:00Z",
            locker_door=9,
            customer_masked="李*芬 / 0933***101",
        ),
    )
    detail = OrderDetail(
        "A1001",
        status="shipped",
        customer_masked="王*明 / 0912***678",
        items=("T-shirt x2",),
        locker_door=3,
    )
    overdue_detail = OrderDetail(
        "A1002",
        status="overdue",
        customer_masked="王*明 / 0912***678",
        items=("T-shirt x2",),
        arrived_at="2026-11-01T03:00:00Z",
        overdue_at="2026-11-08T03:00:00Z",
        locker_door=2,
    )
    staff = {"staff_name": "陳小華", "mode": "locker"}
    returns = (
        OrderRow(
            "A0987",
            "T-shirt x2",
            arrived_at="2026-10-20T03:00:00Z",
            customer_masked="王*明 / 0912***678",
            status="return_reviewed",
        ),
        OrderRow(
            "A0991",
            "書籍 x4",
            arrived_at="2026-10-24T05:10:00Z",
            locker_door=9,
            customer_masked="李*芬 / 0933***101",
            status="return_requested",
        ),
    )
    return {
        "idle": View(lang=lang, on_duty="陳小華"),
        "member_entry": View(lang=lang, screen="member_entry", entry_kind="phone", entry_text="0912345678"),
        "orders": View(lang=lang, screen="orders", mode="locker", member_masked="王*明", orders=orders),
        "scan_package": View(
            lang=lang,
            screen="scan_package",
            member_masked="王*明",
            current_order="A1005",
            current_door=15,
            picked_up=("A1002",),
            on_duty="陳小華",
            message=Message.of("msg.parcel_mismatch", "error", number="A1005"),
        ),
        "door_open": View(
            lang=lang,
            screen="door_open",
            mode="locker",
            member_masked="王*明",
            doors=(DoorRow(5, "unlocked", "A1005"),),
        ),
        "done": View(lang=lang, screen="done", mode="locker", picked_up=("A1002", "A1005"), countdown=8),
        "error": View(lang=lang, screen="error", message=Message.of("err.not_your_order", "error")),
        "offline": View(lang=lang, screen="offline", offline=True),
        "staff_login": View(
            lang=lang, screen="staff_login", pin_length=4, message=Message.of("msg.wrong_pin", "error")
        ),
        "staff_menu": View(lang=lang, screen="staff_menu", outbox_depth=2, staff_name="陳小華", on_duty="林美君"),
        "arrival": View(
            lang=lang,
            screen="arrival",
            arrival_count=4,
            busy=True,
            **staff,
        ),
        "arrival_confirm": View(
            lang=lang,
            screen="arrival_confirm",
            detail=detail,
            commission_enabled=True,
            staff_choices=STAFF,
            selected_staff="s_1",
            **staff,
        ),
        "overdue": View(lang=lang, screen="overdue", orders=overdue, **staff),
        # as it opens: no reason chosen yet, so no `return` button
        "order_detail": View(lang=lang, screen="order_detail", detail=overdue_detail, **staff),
        "pickup_code": View(lang=lang, screen="pickup_code", entry_kind="pickup_code", entry_text="2468"),
        "door_alarm": View(lang=lang, screen="door_alarm", mode="locker", alarm_door=7, alarm_kind="door_forced"),
        "help": View(lang=lang, screen="help", mode="locker"),
        "returns": View(lang=lang, screen="returns", orders=returns, **staff),
    }


ITEMS = ("T-shirt x2", "運動鞋 x1", "保溫杯 x1", "洗髮精 x3", "毛巾 x4", "藍牙耳機 x1", "Notebook x5")


def extra_views(lang: str = "zh-TW") -> dict[str, View]:
    """Long lists, paged: 12 waiting parcels (first page) and 14 overdue ones (last page)."""
    many = tuple(
        OrderRow(
            f"A{2001 + i}",
            ITEMS[i % len(ITEMS)],
            overdue=i in (0, 5),
            arrived_at=f"2026-11-{8 + i:02d}T03:00:00Z",
            locker_door=i + 1,
        )
        for i in range(12)
    )
    overdue = tuple(
        OrderRow(
            f"B{3001 + i}",
            ITEMS[i % len(ITEMS)],
            overdue=True,
            arrived_at=f"2026-10-{1 + i:02d}T03:00:00Z",
            locker_door=i + 1 if i % 3 else None,
            customer_masked="李*華 / 0923***789",
        )
        for i in range(14)
    )
    views = demo_views(lang)
    detail = views["order_detail"].detail
    doorless = tuple(
        dataclasses.replace(row, locker_door=None) if row.number == "A1005" else row for row in views["orders"].orders
    )
    return {
        "orders_many": View(lang=lang, screen="orders", mode="locker", member_masked="王*明", orders=many),
        "overdue_many": View(lang=lang, screen="overdue", orders=overdue, page=1, staff_name="陳小華", mode="locker"),
        # a locker parcel without a door: listed, no button, "collect at the counter"
        "orders_doorless": dataclasses.replace(views["orders"], orders=doorless),
        "orders_empty": View(lang=lang, screen="orders", member_masked="王*明"),
        "order_detail_reason": dataclasses.replace(views["order_detail"], return_reason="damaged"),
        "order_detail_requested": dataclasses.replace(
            views["order_detail"], detail=dataclasses.replace(detail, status="return_requested")
        ),
        "order_detail_reviewed": dataclasses.replace(
            views["order_detail"], detail=dataclasses.replace(detail, status="return_reviewed")
        ),
        "door_alarm_left_open": dataclasses.replace(views["door_alarm"], alarm_door=12, alarm_kind="door_left_open"),
        "help_counter": View(lang=lang, screen="help", mode="counter", on_duty="陳小華"),
        "member_entry_code_only": View(lang=lang, screen="member_entry", member_code_only=True),
        "idle_code_only_no_camera": View(lang=lang, member_code_only=True, camera_ok=False),
        "pickup_code_locked": View(
            lang=lang, screen="pickup_code", entry_kind="pickup_code", entry_text="135790", locked_for=42
        ),
        "staff_login_empty": View(lang=lang, screen="staff_login"),
        "staff_menu_counter_on_duty": View(lang=lang, screen="staff_menu", staff_name="陳小華", on_duty="陳小華"),
    }


def demo_frame(width: int = 640, height: int = 480):
    """A synthetic camera picture: a grey desk with a phone showing a QR code."""
    import numpy as np
    import segno

    img = np.full((height, width, 3), (70, 78, 84), np.uint8)
    yy = np.linspace(0, 1, height)[:, None]
    img[..., 1] = (70 + 40 * yy).astype(np.uint8)
    ph_w, ph_h = width // 3, int(height * 0.75)
    x0, y0 = width // 2 - ph_w // 2, height // 2 - ph_h // 2
    img[y0 : y0 + ph_h, x0 : x0 + ph_w] = (30, 30, 30)
    img[y0 + 12 : y0 + ph_h - 12, x0 + 8 : x0 + ph_w - 8] = (245, 245, 245)
    matrix = np.array(list(segno.make("MEMBER-0000001", error="m", micro=False).matrix), dtype=np.uint8)
    scale = (ph_w - 40) // matrix.shape[0]
    if scale < 1:
        return img
    qr = np.kron(matrix, np.ones((scale, scale), np.uint8))
    qx, qy = x0 + (ph_w - qr.shape[1]) // 2, y0 + (ph_h - qr.shape[0]) // 2
    img[qy : qy + qr.shape[0], qx : qx + qr.shape[1]] = np.where(qr[..., None] == 1, 0, 255).astype(np.uint8)
    return img


def demo_sim() -> dict:
    return {
        "leds": {"green": True, "red": False, "yellow": False},
        "buzzer": False,
        "doors": {i: ("unlocked" if i == 5 else "open" if i == 3 else "locked") for i in range(1, 13)},
    }


def render_all(out: Path, sizes=SIZES, langs=("zh-TW", "en"), *, sim: bool = False) -> list[Path]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame.freetype

    from .render import Renderer, window_size

    pygame.freetype.init()
    renderer = Renderer()
    frame = demo_frame()
    written = []
    for lang in langs:
        views = demo_views(lang)
        views = {**{name: views[name] for name in SCREENS}, **extra_views(lang)}
        for w, h in sizes:
            target = out / lang / f"{w}x{h}"
            target.mkdir(parents=True, exist_ok=True)
            for name in views:
                # with --sim the strip goes below the kiosk, which keeps its real size
                surface = pygame.Surface(window_size((w, h)) if sim else (w, h))
                shown = frame if views[name].camera_ok else None  # no camera, no picture
                renderer.draw(
                    surface,
                    views[name],
                    now=0.25,
                    preview=shown,
                    sim=demo_sim() if sim else None,
                    kiosk_size=(w, h),
                )
                path = target / f"{name}.png"
                pygame.image.save(surface, str(path))
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screens")
    parser.add_argument("--size", action="append", help="WxH, repeatable (default 800x480 and 1280x800)")
    parser.add_argument("--lang", action="append", choices=("zh-TW", "en"))
    parser.add_argument("--sim", action="store_true", help="add the simulated hardware strip")
    args = parser.parse_args(argv)
    sizes = tuple(tuple(int(n) for n in s.lower().split("x")) for s in args.size) if args.size else SIZES
    written = render_all(Path(args.out), sizes, tuple(args.lang or ("zh-TW", "en")), sim=args.sim)
    print(f"{len(written)} screenshots under {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
