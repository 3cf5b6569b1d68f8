"""Crisis lines per country (`resources.yaml`): the model, how it is built from the file,
and how the numbers are put into words for one person.

A wrong crisis number is harm, so every number lives in ONE maintained file, each with
the `source` it was checked against and the date it was `checked`. Dialogues never repeat
a number: a state names the helplines it shows (`resources: [domestic_violence]`), and the
person's country (the kept variable `country`, picked once) chooses the lines. Until a
country is picked, or for a helpline a country does not list, the emergency numbers of
the main regions and an international directory are shown instead.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.loader import Loaded, Path
from bot.core.model import Text

__all__ = [
    "COUNTRY_VARIABLE", "HELPLINES", "RESOURCES_FILE", "WORDING_VALUES", "Country", "Line",
    "Resources", "build_resources",
]

RESOURCES_FILE = "resources.yaml"
#: The helplines a country can list, besides its emergency number(s).
HELPLINES: tuple[str, ...] = ("crisis", "domestic_violence", "child", "sexual_violence")
#: The kept variable that holds the person's country code (set by the country picker).
COUNTRY_VARIABLE = "country"
#: The `{placeholders}` each wording may use.
WORDING_VALUES: Mapping[str, tuple[str, ...]] = {
    "emergency": (),
    "call": ("name", "number"),
    "call_or_text": ("name", "number", "text"),
    "text": ("name", "text"),
    "web": ("name", "web"),
    "country": ("country",),
    "regions": ("regions",),
    "region": ("number", "where"),
    "directory": ("name", "web"),
    "more": ("name", "web"),
}


@dataclass(frozen=True, slots=True)
class Line:
    """One way to reach help, and where and when it was checked."""

    name: Text | None
    number: str | None
    text: str | None
    web: str | None
    source: str
    checked: str
    where: Text | None = None  # region numbers only: where the number works
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    name: Text
    emergency: tuple[Line, ...]
    helplines: Mapping[str, Line]
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Resources:
    """Everything in `resources.yaml`."""

    compiled: str
    verified_online: bool
    countries: Mapping[str, Country]
    regions: tuple[Line, ...]  # emergency numbers of the main regions, for no country
    directory: Line  # the international directory of helplines
    wording: Mapping[str, Text]
    source: Loaded | None = None

    def lines(self) -> Iterator[Line]:
        """Every line in the file, in file order."""
        yield from self.regions
        yield self.directory
        for country in self.countries.values():
            yield from country.emergency
            yield from country.helplines.values()

    def render(self, helplines: tuple[str, ...], country_code: Any, lang: str) -> str:
        """The numbers one state shows, in `lang`, for the person's country (or none)."""
        country = self.countries.get(country_code) if isinstance(country_code, str) else None
        if country is None:
            regions = "; ".join(
                self._say("region", lang, number=line.number or "",
                          where=line.where.get(lang) if line.where else "")
                for line in self.regions)
            return "\n".join([self._say("regions", lang, regions=regions),
                              self._say("directory", lang, **self._named(self.directory, lang))])
        out = [self._say("country", lang, country=country.name.get(lang))]
        out += [self._line(line, lang) for line in country.emergency]
        shown: set[tuple[str | None, str | None, str | None]] = set()
        missing = False
        for kind in helplines:
            line = country.helplines.get(kind)
            if line is None:
                missing = True
            elif (line.number, line.text, line.web) not in shown:
                shown.add((line.number, line.text, line.web))
                out.append(self._line(line, lang))
        if missing:
            out.append(self._say("more", lang, **self._named(self.directory, lang)))
        return "\n".join(out)

    def _line(self, line: Line, lang: str) -> str:
        values = self._named(line, lang)
        if line.number and line.text:
            return self._say("call_or_text", lang, **values)
        if line.number:
            return self._say("call", lang, **values)
        if line.text:
            return self._say("text", lang, **values)
        return self._say("web", lang, **values)

    def _named(self, line: Line, lang: str) -> dict[str, str]:
        name = line.name.get(lang) if line.name else self._say("emergency", lang)
        return {"name": name, "number": line.number or "", "text": line.text or "",
                "web": line.web or ""}

    def _say(self, key: str, lang: str, **values: str) -> str:
        text = self.wording.get(key)
        return _fill(text.get(lang), values) if text else ""


def _fill(words: str, values: Mapping[str, str]) -> str:
    """`{name}` placeholders filled; unknown names left empty, `{{ }}` unescaped."""
    try:
        parts = list(string.Formatter().parse(words))
    except ValueError:  # the validator reports it; never raise at a person
        return words
    return "".join(lit + (values.get(name, "") if name else "") for lit, name, _, _ in parts)


# --- building from the shape-checked file ----------------------------------------------

def _text(value: Any, path: Path) -> Text:
    return Text({"en": value} if isinstance(value, str) else dict(value), path)


def _line(data: dict[str, Any], path: Path) -> Line:
    return Line(
        name=_text(data["name"], (*path, "name")) if "name" in data else None,
        number=data.get("number"), text=data.get("text"), web=data.get("web"),
        source=data["source"], checked=data["checked"],
        where=_text(data["where"], (*path, "where")) if "where" in data else None,
        path=path,
    )


def build_resources(ld: Loaded) -> Resources:
    """The model of a `resources.yaml` that passed `check_shape`."""
    d = ld.data
    countries = {}
    for code, c in d["countries"].items():
        path = ("countries", code)
        countries[code] = Country(
            code=code, name=_text(c["name"], (*path, "name")),
            emergency=tuple(_line(line, (*path, "emergency", i))
                            for i, line in enumerate(c.get("emergency") or [])),
            helplines={kind: _line(c[kind], (*path, kind)) for kind in HELPLINES if kind in c},
            path=path,
        )
    fallback = d["fallback"]
    return Resources(
        compiled=d["compiled"], verified_online=d["verified_online"], countries=countries,
        regions=tuple(_line(line, ("fallback", "emergency", i))
                      for i, line in enumerate(fallback["emergency"])),
        directory=_line(fallback["directory"], ("fallback", "directory")),
        wording={k: _text(v, ("wording", k)) for k, v in d["wording"].items()},
        source=ld,
    )
