"""The kiosk's texts in English and Bahasa Indonesia: assets/i18n/ui.json (screens) and
assets/i18n/cues.json (the quality cues, keys "cues.<CODE>" as CueChanged names them).

Qt-free. The language can change at any time; screens re-read their texts on `changed`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from assets import asset_path

log = logging.getLogger(__name__)

I18N_DIR = asset_path("i18n")
LANGUAGES = ("id", "en")


def _load(path: Path, section: str, prefix: str) -> dict[str, dict[str, str]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    table = doc[section]
    out: dict[str, dict[str, str]] = {}
    for key, texts in table.items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise ValueError(f"{path.name}: {key} has no text for {', '.join(missing)}")
        out[prefix + key] = {lang: str(texts[lang]) for lang in LANGUAGES}
    return out


class Translator:
    """Looks texts up in the current language; a missing key is an error, never a blank."""

    def __init__(self, lang: str = "id", folder: Path = I18N_DIR) -> None:
        self._texts = {**_load(folder / "ui.json", "texts", ""),
                       **_load(folder / "cues.json", "cues", "cues.")}
        self._listeners: list[Callable[[str], None]] = []
        self.lang = self._checked(lang)

    @staticmethod
    def _checked(lang: str) -> str:
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        return lang

    def has(self, key: str) -> bool:
        return key in self._texts

    def tr(self, key: str, **values: object) -> str:
        text = self._texts[key][self.lang]
        return text.format(**values) if values else text

    def set_language(self, lang: str) -> None:
        lang = self._checked(lang)
        if lang != self.lang:
            self.lang = lang
            log.info("language switched to %s", lang)
            for listener in list(self._listeners):
                listener(lang)

    def toggle(self) -> str:
        self.set_language("en" if self.lang == "id" else "id")
        return self.lang

    def on_change(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)
