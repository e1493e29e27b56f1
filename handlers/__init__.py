"""Resident-facing features, one module each; `build_root` includes them in order.

Dialog states are tried first (by the root), then the handler of the detected intent, then
the catch-all, which is the guide matcher (`faq`) and therefore comes last.
"""

from bot.router import RootRouter
from handlers import (booking, bundle, case_talk, centers, complaint, faq, greeting, handoff, home_visit, kinds,
                      my_bookings, my_cases, opening, proxy, rating, status)


def build_root() -> RootRouter:
    return RootRouter(
        handoff.router,
        case_talk.router,   # a question about the resident's waiting case, before the words' intent
        proxy.router,
        my_cases.router,
        status.router,
        complaint.router,
        rating.router,
        booking.router,
        my_bookings.router,
        home_visit.router,
        centers.router,
        opening.router,     # 今天上班不, 现在去行吗: the calendar and the hours
        greeting.router,
        kinds.router,
        bundle.router,   # a life event (高效办成一件事) the matcher answers with, before the guides' catch-all
        faq.router,  # catch-all: guide answers and the honest "don't know"
    )
