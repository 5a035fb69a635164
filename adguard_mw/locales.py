"""Which language a reader gets, and the words we ship in each language.

Readers say which languages they read in `Accept-Language`; editors say which languages they wrote the message in.
`negotiate` picks the best match from the editors' list only, so nobody is shown a half-translated message. The
header is untrusted input: it is read up to a fixed length and a fixed number of entries, and anything malformed is
skipped rather than guessed at.

The built-in texts are translations of `Message`'s English defaults and of the allow-list steps; a step's
`{check}` is replaced by the message's own "check again" label, so the steps always name the button the reader sees.
"""

# ruff: noqa: RUF001 - the translations use each language's own apostrophes, dashes and quotation marks

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TypeVar

_T = TypeVar("_T")

MAX_HEADER = 1024  # characters of Accept-Language that are read
_MAX_RANGES = 32  # entries of Accept-Language that are read
_RANGE = re.compile(r"\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*")
_QUALITY = re.compile(r"q=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")
LOCALE_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")
_RIGHT_TO_LEFT = frozenset({"ar", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi"})


def preferences(header: str) -> list[tuple[str, float]]:
    """The language ranges of an Accept-Language header, best first (ties keep their order), with their q-values.

    Malformed entries are skipped; a header with none that parse gives an empty list.
    """
    ranges: list[tuple[str, float]] = []
    for part in header[:MAX_HEADER].split(",", _MAX_RANGES)[:_MAX_RANGES]:
        tag, _, params = part.partition(";")
        tag = tag.strip().lower()
        if not _RANGE.fullmatch(tag):
            continue
        quality = 1.0
        if params:
            match = _QUALITY.fullmatch(params.replace(" ", "").replace("\t", "").lower())
            if match is None:
                continue
            quality = float(match.group(1))
        ranges.append((tag, quality))
    return sorted(ranges, key=lambda item: -item[1])


def _covers(language_range: str, locale: str) -> bool:
    return locale == language_range or locale.startswith(language_range + "-")


def _lookup(language_range: str, available: Iterable[str]) -> list[str]:
    """Locales for one range, closest first: the range itself, then shorter ("de-ch" → "de"), then more specific."""
    found: list[str] = []
    parts = language_range.split("-")
    for end in range(len(parts), 0, -1):
        candidate = "-".join(parts[:end])
        if candidate in available:
            found.append(candidate)
    found.extend(sorted(locale for locale in available if locale.startswith(language_range + "-")))
    return found


def negotiate(header: str, available: Iterable[str], default: str) -> str:
    """The reader's most preferred locale among `available` (lower-case codes); `default` when none is acceptable.

    `q=0` excludes a language (and its regional variants); `*` stands for any language not named, which here
    means the default. A missing, empty or malformed header gives the default.
    """
    offered = frozenset(available) | {default}
    ranked = preferences(header)
    excluded = [language_range for language_range, quality in ranked if quality == 0 and language_range != "*"]
    for language_range, quality in ranked:
        if quality == 0:
            continue
        if language_range == "*":
            candidates = [default, *sorted(offered - {default})]
        else:
            candidates = _lookup(language_range, offered)
        for locale in candidates:
            if not any(_covers(excluding, locale) for excluding in excluded):
                return locale
    return default


def direction(locale: str) -> str:
    """The message's `dir` attribute: "rtl" for languages written right to left, else "ltr"."""
    return "rtl" if locale.split("-")[0] in _RIGHT_TO_LEFT else "ltr"


def _closest(locale: str | None, table: Mapping[str, _T]) -> _T | None:
    if locale is None:
        return None
    locale = locale.lower()
    return table.get(locale) or table.get(locale.split("-")[0])


def default_texts(locale: str | None) -> dict[str, str]:
    """Our translation of `Message`'s default texts for `locale` (or its language); empty for English or unknown."""
    return dict(_closest(locale, TEXTS) or {})


def steps(locale: str | None) -> dict[str, tuple[str, ...]]:
    """The allow-list steps per browser family (and "other", "network") in `locale`, English when we have none."""
    return _closest(locale, STEPS) or STEPS["en"]


# The translations: natural wording for readers, not word for word. The formal address (Sie, vous, usted) suits
# a publisher speaking to readers it does not know.
TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Bitte unterstützen Sie {site} und lassen Sie Werbung zu",
        "body": (
            "{site} ist kostenlos lesbar, weil Werbung unsere Berichterstattung finanziert. Offenbar blendet ein "
            "Werbeblocker unsere Anzeigen aus. Wenn möglich, lassen Sie Werbung auf dieser Website bitte zu – so "
            "bleibt unser Journalismus für alle frei zugänglich."
        ),
        "check_label": "Ich habe Werbung zugelassen, erneut prüfen",
        "continue_label": "Weiterlesen",
        "still_blocked": (
            "Wir erkennen weiterhin einen Werbeblocker. Manchmal greift eine Änderung erst, nachdem die Seite neu "
            "geladen wurde."
        ),
        "network_body": (
            "{site} ist kostenlos lesbar, weil Werbung unsere Berichterstattung finanziert. Unsere Anzeigen werden "
            "offenbar von Ihrem Netzwerk gefiltert (etwa von einem DNS-Filter wie Pi-hole oder NextDNS oder im "
            "Netzwerk Ihrer Firma oder Schule), deshalb kann Ihr Browser sie nicht zulassen. Wenn Sie den Filter "
            "selbst betreiben, nehmen Sie diese Website bitte in seine Ausnahmeliste auf."
        ),
        "instructions_title": "So lassen Sie Werbung auf {site} zu",
        "steps_heading": "So lassen Sie Werbung auf {site} zu",
        "slot_label": "Eine Nachricht von {site}",
        "slot_body": (
            "Werbung finanziert die Berichterstattung von {site} mit. Danke, dass Sie uns lesen und unterstützen."
        ),
    },
    "fr": {
        "title": "Soutenez {site} en autorisant les publicités",
        "body": (
            "{site} est en accès libre grâce à la publicité, qui finance nos reportages. Il semble qu’un bloqueur de "
            "publicités masque nos annonces. Si vous le pouvez, autorisez les publicités sur ce site\u00a0: c’est "
            "ce qui permet à notre journalisme de rester gratuit pour tous."
        ),
        "check_label": "J’ai autorisé les publicités, vérifier à nouveau",
        "continue_label": "Continuer la lecture",
        "still_blocked": (
            "Nous détectons toujours un bloqueur de publicités. Il faut parfois recharger la page pour que la "
            "modification soit prise en compte."
        ),
        "network_body": (
            "{site} est en accès libre grâce à la publicité, qui finance nos reportages. Nos annonces semblent "
            "filtrées par votre réseau (par exemple un filtre DNS comme Pi-hole ou NextDNS, ou le réseau de votre "
            "entreprise ou de votre établissement scolaire)\u00a0: votre navigateur ne peut donc pas les autoriser. "
            "Si ce filtre est le vôtre, pensez à ajouter ce site à sa liste d’autorisations."
        ),
        "instructions_title": "Comment autoriser les publicités sur {site}",
        "steps_heading": "Comment autoriser les publicités sur {site}",
        "slot_label": "Un mot de {site}",
        "slot_body": (
            "La publicité contribue à financer les reportages de {site}. Merci de nous lire et de nous soutenir."
        ),
    },
    "es": {
        "title": "Apoye a {site} permitiendo los anuncios",
        "body": (
            "{site} es de acceso gratuito porque la publicidad financia nuestro periodismo. Parece que un bloqueador "
            "de anuncios está ocultando nuestra publicidad. Si puede, permita los anuncios en este sitio: así "
            "nuestro periodismo seguirá siendo gratuito para todos."
        ),
        "check_label": "Ya he permitido los anuncios, comprobar de nuevo",
        "continue_label": "Seguir leyendo",
        "still_blocked": (
            "Seguimos detectando un bloqueador de anuncios. Es posible que el cambio no se aplique hasta que "
            "recargue la página."
        ),
        "network_body": (
            "{site} es de acceso gratuito porque la publicidad financia nuestro periodismo. Parece que su red filtra "
            "nuestros anuncios (por ejemplo, un filtro DNS como Pi-hole o NextDNS, o la red de su trabajo o de su "
            "centro de estudios), por lo que su navegador no puede permitirlos. Si el filtro es suyo, le rogamos que "
            "añada este sitio a su lista de permitidos."
        ),
        "instructions_title": "Cómo permitir los anuncios en {site}",
        "steps_heading": "Cómo permitir los anuncios en {site}",
        "slot_label": "Una nota de {site}",
        "slot_body": "La publicidad ayuda a financiar el periodismo de {site}. Gracias por leernos y por apoyarnos.",
    },
}

# Short, accurate steps per browser family. Brave reports itself as Chrome, so the Chrome steps mention Shields.
_EN_BACK = "Come back here and choose “{check}”."
_EN_EXTENSION = (
    "Click your ad blocker's icon in the toolbar (you may find it under the puzzle-piece Extensions menu).",
    "Choose the option to turn it off, pause it or trust this site.",
    _EN_BACK,
)
_DE_BACK = "Kehren Sie hierher zurück und wählen Sie „{check}“."
_DE_EXTENSION = (
    "Klicken Sie in der Symbolleiste auf das Symbol Ihres Werbeblockers (eventuell finden Sie es im "
    "Erweiterungen-Menü mit dem Puzzleteil-Symbol).",
    "Wählen Sie die Option, ihn auszuschalten, zu pausieren oder dieser Website zu vertrauen.",
    _DE_BACK,
)
_FR_BACK = "Revenez ici et choisissez «\u00a0{check}\u00a0»."
_FR_EXTENSION = (
    "Cliquez sur l’icône de votre bloqueur de publicités dans la barre d’outils (elle se trouve peut-être dans le "
    "menu Extensions, en forme de pièce de puzzle).",
    "Choisissez l’option qui permet de le désactiver, de le mettre en pause ou de faire confiance à ce site.",
    _FR_BACK,
)
_ES_BACK = "Vuelva aquí y elija «{check}»."
_ES_EXTENSION = (
    "Haga clic en el icono de su bloqueador de anuncios en la barra de herramientas (puede que esté en el menú "
    "Extensiones, el de la pieza de puzle).",
    "Elija la opción para desactivarlo, pausarlo o confiar en este sitio.",
    _ES_BACK,
)
STEPS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "Chrome": (
            "Click your ad blocker's icon to the right of the address bar, under the puzzle-piece Extensions menu "
            "if it is not pinned. In Brave, click the lion icon and turn Shields down for this site.",
            *_EN_EXTENSION[1:],
        ),
        "Edge": _EN_EXTENSION,
        "Opera": (
            "Click the shield icon in the address bar and turn off blocking for this site, or use your ad blocker's "
            "icon in the toolbar.",
            _EN_BACK,
        ),
        "Firefox": (
            "Click your ad blocker's icon in the toolbar (or the puzzle-piece Extensions menu).",
            "Turn it off for this site. If no extension is installed, click the shield in the address bar and turn "
            "off Enhanced Tracking Protection for this site.",
            _EN_BACK,
        ),
        "Safari": (
            "Open Safari ▸ Settings for This Website (on iPhone and iPad, tap the page-settings button in the "
            "address bar).",
            "Turn off “Enable Content Blockers”.",
            _EN_BACK,
        ),
        "Brave": (
            "Click the Brave Shields icon (the lion) at the right of the address bar.",
            "Turn Shields down for this site. If you also use an ad-blocking extension, turn it off for this site too.",
            _EN_BACK,
        ),
        "mobile": (
            "If your browser blocks ads itself (Samsung Internet, Brave, Opera), open its menu and turn ad blocking "
            "off for this site.",
            "If an app or a Private DNS setting blocks ads on your phone, pause it or add this site to its allow-list.",
            _EN_BACK,
        ),
        "other": _EN_EXTENSION,
        "network": (
            "Open your filter's settings: the Pi-hole or NextDNS dashboard, your router, or ask whoever runs your "
            "network.",
            "Add this site's address to the allow-list (or whitelist).",
            _EN_BACK,
        ),
    },
    "de": {
        "Chrome": (
            "Klicken Sie rechts neben der Adressleiste auf das Symbol Ihres Werbeblockers; ist es nicht angepinnt, "
            "finden Sie es im Erweiterungen-Menü mit dem Puzzleteil-Symbol. In Brave klicken Sie auf das "
            "Löwen-Symbol und schalten die Shields für diese Website aus.",
            *_DE_EXTENSION[1:],
        ),
        "Edge": _DE_EXTENSION,
        "Opera": (
            "Klicken Sie auf das Schild-Symbol in der Adressleiste und deaktivieren Sie die Blockierung für diese "
            "Website, oder verwenden Sie das Symbol Ihres Werbeblockers in der Symbolleiste.",
            _DE_BACK,
        ),
        "Firefox": (
            "Klicken Sie in der Symbolleiste auf das Symbol Ihres Werbeblockers (oder auf das Erweiterungen-Menü "
            "mit dem Puzzleteil-Symbol).",
            "Schalten Sie ihn für diese Website aus. Ist keine Erweiterung installiert, klicken Sie auf das Schild "
            "in der Adressleiste und deaktivieren Sie den Verbesserten Schutz vor Aktivitätenverfolgung für diese "
            "Website.",
            _DE_BACK,
        ),
        "Safari": (
            "Öffnen Sie Safari ▸ Einstellungen für diese Website (auf iPhone und iPad tippen Sie in der Adressleiste "
            "auf die Taste für die Seiteneinstellungen).",
            "Deaktivieren Sie „Inhaltsblocker aktivieren“.",
            _DE_BACK,
        ),
        "Brave": (
            "Klicken Sie rechts in der Adressleiste auf das Brave-Shields-Symbol (den Löwen).",
            "Schalten Sie die Shields für diese Website aus. Nutzen Sie zusätzlich eine Werbeblocker-Erweiterung, "
            "deaktivieren Sie auch diese für diese Website.",
            _DE_EXTENSION[2],
        ),
        "mobile": (
            "Blockiert Ihr Browser selbst Werbung (Samsung Internet, Brave, Opera), öffnen Sie sein Menü und "
            "schalten Sie den Werbeblocker für diese Website aus.",
            "Blockiert eine App oder eine private DNS-Einstellung Werbung auf Ihrem Telefon, pausieren Sie sie oder "
            "nehmen Sie diese Website in ihre Ausnahmeliste auf.",
            _DE_EXTENSION[2],
        ),
        "other": _DE_EXTENSION,
        "network": (
            "Öffnen Sie die Einstellungen Ihres Filters: das Dashboard von Pi-hole oder NextDNS, Ihren Router – oder "
            "fragen Sie die Person, die Ihr Netzwerk betreut.",
            "Fügen Sie die Adresse dieser Website zur Ausnahmeliste (Allowlist oder Whitelist) hinzu.",
            _DE_BACK,
        ),
    },
    "fr": {
        "Chrome": (
            "Cliquez sur l’icône de votre bloqueur de publicités à droite de la barre d’adresse (ou dans le menu "
            "Extensions, en forme de pièce de puzzle, si elle n’est pas épinglée). Dans Brave, cliquez sur l’icône "
            "du lion et désactivez les Shields pour ce site.",
            *_FR_EXTENSION[1:],
        ),
        "Edge": _FR_EXTENSION,
        "Opera": (
            "Cliquez sur l’icône en forme de bouclier dans la barre d’adresse et désactivez le blocage pour ce "
            "site, ou utilisez l’icône de votre bloqueur de publicités dans la barre d’outils.",
            _FR_BACK,
        ),
        "Firefox": (
            "Cliquez sur l’icône de votre bloqueur de publicités dans la barre d’outils (ou dans le menu "
            "Extensions, en forme de pièce de puzzle).",
            "Désactivez-le pour ce site. Si aucune extension n’est installée, cliquez sur le bouclier dans la barre "
            "d’adresse et désactivez la protection renforcée contre le pistage pour ce site.",
            _FR_BACK,
        ),
        "Safari": (
            "Ouvrez Safari ▸ Réglages pour ce site web (sur iPhone et iPad, touchez le bouton des réglages de la "
            "page dans la barre d’adresse).",
            "Désactivez «\u00a0Activer les bloqueurs de contenu\u00a0».",
            _FR_BACK,
        ),
        "Brave": (
            "Cliquez sur l’icône Brave Shields (le lion) à droite de la barre d’adresse.",
            "Désactivez les Shields pour ce site. Si vous utilisez aussi une extension de blocage, désactivez-la "
            "également pour ce site.",
            _FR_BACK,
        ),
        "mobile": (
            "Si votre navigateur bloque lui-même les publicités (Samsung Internet, Brave, Opera), ouvrez son menu et "
            "désactivez le blocage pour ce site.",
            "Si une application ou un réglage DNS privé bloque les publicités sur votre téléphone, mettez-le en "
            "pause ou ajoutez ce site à sa liste d’exceptions.",
            _FR_BACK,
        ),
        "other": _FR_EXTENSION,
        "network": (
            "Ouvrez les réglages de votre filtre\u00a0: le tableau de bord de Pi-hole ou de NextDNS, votre box ou "
            "votre routeur, ou demandez à la personne qui gère votre réseau.",
            "Ajoutez l’adresse de ce site à la liste d’autorisations (liste blanche).",
            _FR_BACK,
        ),
    },
    "es": {
        "Chrome": (
            "Haga clic en el icono de su bloqueador de anuncios, a la derecha de la barra de direcciones (si no "
            "está fijado, lo encontrará en el menú Extensiones, el de la pieza de puzle). En Brave, haga clic en el "
            "icono del león y desactive los Shields para este sitio.",
            *_ES_EXTENSION[1:],
        ),
        "Edge": _ES_EXTENSION,
        "Opera": (
            "Haga clic en el icono del escudo en la barra de direcciones y desactive el bloqueo para este sitio, o "
            "use el icono de su bloqueador de anuncios en la barra de herramientas.",
            _ES_BACK,
        ),
        "Firefox": (
            "Haga clic en el icono de su bloqueador de anuncios en la barra de herramientas (o en el menú "
            "Extensiones, el de la pieza de puzle).",
            "Desactívelo para este sitio. Si no tiene ninguna extensión instalada, haga clic en el escudo de la "
            "barra de direcciones y desactive la protección antirrastreo mejorada para este sitio.",
            _ES_BACK,
        ),
        "Safari": (
            "Abra Safari ▸ Ajustes de este sitio web (en el iPhone y el iPad, toque el botón de ajustes de la página "
            "en la barra de direcciones).",
            "Desactive «Activar bloqueadores de contenido».",
            _ES_BACK,
        ),
        "Brave": (
            "Haga clic en el icono de Brave Shields (el león), a la derecha de la barra de direcciones.",
            "Desactive los Shields para este sitio. Si además usa una extensión de bloqueo, desactívela también "
            "para este sitio.",
            _ES_BACK,
        ),
        "mobile": (
            "Si su navegador bloquea los anuncios por sí mismo (Samsung Internet, Brave, Opera), abra su menú y "
            "desactive el bloqueo para este sitio.",
            "Si una aplicación o un ajuste de DNS privado bloquea los anuncios en su teléfono, páuselo o añada este "
            "sitio a su lista de excepciones.",
            _ES_BACK,
        ),
        "other": _ES_EXTENSION,
        "network": (
            "Abra la configuración de su filtro: el panel de Pi-hole o NextDNS, su router, o pregunte a quien "
            "administre su red.",
            "Añada la dirección de este sitio a la lista de permitidos (lista blanca).",
            _ES_BACK,
        ),
    },
}
