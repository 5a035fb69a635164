"""Article data for The Daily Lantern demo site.

Everything here is invented: the towns of the Wren Valley, the people and the events are fictional. The text is
real prose rather than filler so the demo looks like a news site and gives the middleware realistic HTML to handle.
Kept in plain Python (no database) so the example has no moving parts beyond Starlette and Jinja2.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Article:
    """One story; frozen so the shared module-level data cannot be changed by a request handler."""

    slug: str
    title: str
    dek: str
    author: str
    date: dt.date
    paragraphs: tuple[str, ...]

    @property
    def display_date(self) -> str:
        """Human-readable date, built by hand so it does not depend on the server's locale."""
        return f"{self.date.day} {self.date.strftime('%B')} {self.date.year}"


def _paragraphs(text: str) -> tuple[str, ...]:
    """Split prose on blank lines and unwrap it, so the stories can be written as readable wrapped text."""
    return tuple(" ".join(block.split()) for block in text.strip().split("\n\n") if block.strip())


ARTICLES: tuple[Article, ...] = (
    Article(
        slug="alder-ford-library-reopens",
        title="Alder Ford Library reopens its doors after an eighteen-month renovation",
        dek=(
            "A new reading room, a lift to the local-history floor and, by popular demand, the same creaky armchairs."
        ),
        author="Maren Oakley",
        date=dt.date(2025, 5, 17),
        paragraphs=_paragraphs(
            """
        The queue outside Alder Ford Library on Saturday morning stretched past the war memorial and round the corner
        onto Mill Lane. When head librarian Tobias Feld unlocked the oak doors at nine o'clock, the first person
        through was eight-year-old Poppy Harrow, who had been waiting since half past seven to return a book she
        borrowed before the building closed for works.

        The renovation, funded by the county and a two-year village appeal, replaced the leaking roof, added a lift to
        the first-floor local-history room and turned the old boiler store into a bright reading room with views over
        the green. The building now has level access from the car park for the first time since it opened in 1911.

        Not everything changed. During the consultation residents asked, more than any other single request, for the
        three battered leather armchairs by the fireplace to stay. They were sent away to be re-stuffed and are back
        in their usual spots. “People told us they had read whole series of novels in those chairs,” Mr Feld said. “We
        were not going to be the ones to take them away.”

        Opening hours return to normal this week, with a late opening until eight o'clock on Thursdays. The library
        will also host a homework club on weekday afternoons and a repair café on the first Saturday of each month,
        where volunteers fix lamps, toasters and torn book spines.

        Poppy's book, a guide to pond life, was eighteen months overdue. The library waived the fine.
            """
        ),
    ),
    Article(
        slug="wren-river-clean-up",
        title="Volunteers haul two tonnes of rubbish from the Wren in a single weekend",
        dek=("Three shopping trolleys, a bicycle, a garden gnome and a great deal of plastic came out of the river."),
        author="Idris Penhale",
        date=dt.date(2025, 5, 10),
        paragraphs=_paragraphs(
            """
        More than a hundred and forty volunteers in waders and borrowed gloves spent last weekend working their way
        along a four-mile stretch of the River Wren, from the weir at Millbrook down to the footbridge at Wrenfield.
        By Sunday evening they had filled two skips.

        The clean-up was organised by the Friends of the Wren, a group started three years ago by retired geography
        teacher Hazel Quinlan after she counted eleven plastic bottles caught on a single branch below the town
        bridge. “I thought, somebody ought to do something about that,” she said. “Then I realised I was somebody.”

        Among the finds were three shopping trolleys, a child's bicycle, a traffic cone, an ironing board and a garden
        gnome, which has been cleaned up and given a place of honour on the group's stall at the Saturday market. Most
        of the haul, though, was smaller and harder to shift: crisp packets, drinks cans and fragments of plastic
        sheeting wrapped around roots.

        Volunteers from the valley angling club also surveyed the water as they went. They reported healthy numbers of
        young trout near the weir and, for the second year running, a kingfisher nesting in the bank opposite the old
        tannery.

        The Friends of the Wren meet on the last Sunday of each month at the footbridge car park. Gloves, grabbers and
        tea are provided; waders are first come, first served.
            """
        ),
    ),
    Article(
        slug="crumb-and-crust-apprentices",
        title="Corner bakery's apprenticeship scheme turns out its first three bakers",
        dek=(
            "Crumb & Crust on Station Road trained three school-leavers in two years. "
            "All three are staying in the valley."
        ),
        author="Maren Oakley",
        date=dt.date(2025, 4, 29),
        paragraphs=_paragraphs(
            """
        At four o'clock on a weekday morning the only lit window on Station Road belongs to Crumb & Crust, and for the
        past two years three of the people behind it have been apprentices. This month Jonah Treloar, Amira Cole and
        Beth Venner finished their training and were handed their certificates over, fittingly, a tray of warm
        cinnamon buns.

        The scheme was the idea of owner Rosalind Pike, who opened the bakery nine years ago and found it almost
        impossible to hire experienced bakers willing to live outside the city. “In the end I thought it would be
        easier to grow our own,” she said. With support from the valley's further-education college, the apprentices
        split their weeks between the classroom and the bakery floor.

        Each of the three found a speciality. Jonah now runs the sourdough programme and keeps the bakery's starter,
        known to staff as Doris, alive through weekends and holidays. Amira took over cakes and celebration orders.
        Beth, who admits she “could not boil an egg” when she started, is responsible for the rye loaf that sells out
        by ten o'clock most Saturdays.

        Jonah and Amira are staying on at Crumb & Crust as full-time bakers. Beth plans to open a bread stall at
        Millbrook market in the autumn, with Ms Pike's blessing and a jar of Doris to take with her.

        Applications for the next two apprenticeships open in June. Ms Pike says early starts are the only entry
        requirement that cannot be taught.
            """
        ),
    ),
    Article(
        slug="council-backs-station-road-bike-lanes",
        title="Council backs protected bike lanes on Station Road by five votes to two",
        dek=(
            "After a three-hour meeting, a trial scheme will run for eighteen months with a review of shop deliveries."
        ),
        author="Idris Penhale",
        date=dt.date(2025, 4, 22),
        paragraphs=_paragraphs(
            """
        Wren Valley Town Council voted on Tuesday night to install protected cycle lanes along the full length of
        Station Road, the busy route between the railway station and the secondary school. The decision, passed five
        votes to two, followed a three-hour meeting in a packed council chamber.

        The scheme will replace a row of on-street parking spaces on the eastern side of the road with a two-way cycle
        track separated from traffic by low kerbs and planters. Twelve replacement spaces will be created in the
        station car park, and a loading bay outside the row of shops will stay in place.

        Supporters pointed to a survey in which more than half of pupils at Wrenfield High said they would cycle to
        school if the route felt safer. Councillor Priya Lanyon, who proposed the motion, said the road had “been
        designed for the traffic of fifty years ago” and that the trial was a chance to find out what worked before
        spending money on permanent changes.

        Some shopkeepers spoke against the plan, worried that customers who drive in would go elsewhere. Councillor
        Gareth Moyle, who voted against, said he was not opposed to cycling but wanted a longer consultation. The
        council agreed to an amendment requiring a report on deliveries and footfall after six months.

        Work is expected to begin in August, during the school holidays, and take around four weeks. The trial will
        run for eighteen months before councillors decide whether to make it permanent.

        The full minutes of the meeting will be published on the council noticeboard and at the library.
            """
        ),
    ),
    Article(
        slug="wrenfield-robotics-regional-final",
        title="Wrenfield High robotics team heads to the regional final with a robot called Gerald",
        dek=(
            "Built from a kit, a broken vacuum cleaner and a lot of cable ties, "
            "Gerald has not lost a match since March."
        ),
        author="Sunniva Brack",
        date=dt.date(2025, 4, 14),
        paragraphs=_paragraphs(
            """
        Gerald is about the size of a microwave oven, moves at a slightly nervous trot and, according to his builders,
        has a personality. On Saturday he and the eight students of the Wrenfield High robotics club travel to the
        regional final of the schools robotics challenge, the first time the school has reached that stage.

        This year's challenge asks robots to collect coloured rings from a walled arena and stack them on posts while
        an opposing robot tries to do the same. Teams have two and a half minutes. Gerald's secret, team captain Ellis
        Marsh explained, is a set of rubber rollers salvaged from a broken vacuum cleaner that a teacher brought in
        from home.

        The club meets twice a week in the design and technology workshop, and members say the hardest part is not the
        engineering but the software. “Every time we fix one thing, Gerald finds a new way to drive into the wall,”
        said fourteen-year-old programmer Noor Halloway. The team keeps a logbook of every bug; it runs to forty-three
        pages.

        The trip has been paid for by a cake sale, a teachers-versus-pupils quiz night that raised a surprising amount
        of money, and a donation from the Alder Ford repair café, whose volunteers helped rewire Gerald's battery
        pack.

        If the team finishes in the top four on Saturday it will qualify for the national final in June. Either way,
        Mr Okafor, the club's supervising teacher, says Gerald will be on display at the school's summer fair,
        “driving into walls for anyone who asks”.
            """
        ),
    ),
)

_BY_SLUG: dict[str, Article] = {article.slug: article for article in ARTICLES}


def get_article(slug: str) -> Article | None:
    """Look an article up by slug; ``None`` lets the route decide how to report a miss (a 404)."""
    return _BY_SLUG.get(slug)


def latest_first() -> list[Article]:
    """Articles newest first, the order a front page shows them in."""
    return sorted(ARTICLES, key=lambda article: article.date, reverse=True)
