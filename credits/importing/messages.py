"""The reasons a row is refused, in one place for the event rows and the activity rows.

Each is the `reason` of a RowError, reported as `line N: column: reason`. A partner admin's
upload is told the same thing whether another partner's key, e-mail or hub id exists or not.
They speak the active language: English on the command line (SPEC §4), the uploader's in an
admin upload (`credits.importing.jobs`). Column and event names are the file's, never translated.
"""

from django.utils.translation import gettext as _

from accounts.services import no_access_message


def line(number: int, column: str, reason: str) -> str:
    return _("line %(line)d: %(column)s: %(reason)s") % {
        "line": number,
        "column": column,
        "reason": reason,
    }


def required(event: str) -> str:
    return _("required for %(event)s") % {"event": event}


def no_column(event: str) -> str:
    return _("required for %(event)s (no such column)") % {"event": event}


def unknown_partner(key: str) -> str:
    return _("unknown partner %(key)s") % {"key": repr(key)}


def not_your_partner(key: str) -> str:
    """A partner admin names another partner (whether it exists is not said)."""
    return _("%(key)s is not your partner: you may import only its own activities") % {"key": key}


def unknown_employee(email: str, partner_key: str) -> str:
    """Also when the e-mail belongs to another partner's employee: that is not said."""
    return _("unknown employee %(email)s of partner %(partner)s") % {
        "email": repr(email),
        "partner": partner_key,
    }


def unknown_client(hub_id: str) -> str:
    return _("unknown client %(hub_id)s") % {"hub_id": repr(hub_id)}


def no_client_access(hub_id: str) -> str:
    """To a partner admin: the same for a hub id that does not exist and one not open to them."""
    return no_access_message(hub_id)


def repeated_ref(ref: str, first_line: int) -> str:
    return _("%(ref)s is also used on line %(line)d of this file") % {
        "ref": repr(ref),
        "line": first_line,
    }


def too_long(max_length: int) -> str:
    return _("longer than %(max)d characters") % {"max": max_length}


def nul() -> str:
    return _("contains a NUL character")


def bad_moment(text: str, why: str) -> str:
    return _("%(text)s is not a valid ISO date or datetime (%(why)s)") % {
        "text": repr(text),
        "why": why,
    }


def expected_moment(form: str) -> str:
    return _("expected %(form)s") % {"form": form}


def out_of_range() -> str:
    return _("out of range")


def unknown_event(event: str) -> str:
    return _("unknown event %(event)s") % {"event": repr(event)}


def event_required() -> str:
    return _("required")


def refused(event: str, messages: list[str]) -> str:
    """A rule of the access services refused the change."""
    return _("%(event)s refused: %(reasons)s") % {"event": event, "reasons": "; ".join(messages)}


def activities_only(event: str) -> str:
    return _("%(event)s: a partner admin may import only activity rows") % {"event": event}


def width(fields: int, header: int) -> str:
    return _("has %(fields)d fields; the header has %(header)d") % {
        "fields": fields,
        "header": header,
    }


def not_csv(error: str) -> str:
    return _("not valid CSV (%(error)s)") % {"error": error}


def empty_file() -> str:
    return _("the file is empty (no header row)")


def unknown_columns(unknown: list[str], known: list[str] | tuple[str, ...]) -> str:
    return _("unknown column(s) %(unknown)s; known: %(known)s") % {
        "unknown": ", ".join(map(repr, unknown)),
        "known": ", ".join(known),
    }


def repeated_columns(names: list[str]) -> str:
    return _("column(s) %(names)s appear more than once") % {"names": ", ".join(names)}


def missing_column(name: str) -> str:
    return _("missing required column %(name)s") % {"name": repr(name)}


def not_a_decimal(text: str) -> str:
    return _("%(text)s is not a decimal number with at most two decimals") % {"text": repr(text)}


def negative(text: str) -> str:
    return _("%(text)s is negative") % {"text": text}


def not_a_currency(text: str) -> str:
    return _("%(text)s is not an ISO 4217 currency code") % {"text": repr(text)}


def not_a_country(text: str) -> str:
    return _("%(text)s is not an ISO 3166 alpha-2 country code") % {"text": repr(text)}


def not_a_choice(text: str, choices: tuple[str, ...]) -> str:
    return _("%(text)s is not one of %(choices)s") % {
        "text": repr(text),
        "choices": ", ".join(choices),
    }


def line_too_long(limit: int) -> str:
    return _("longer than %(limit)s bytes; skipped") % {"limit": f"{limit:,}"}


def not_utf8(byte: int, position: int) -> str:
    return _("not UTF-8 (byte %(byte)s at position %(position)d)") % {
        "byte": f"0x{byte:02x}",
        "position": position,
    }


def more_errors() -> str:
    return _("… more errors not kept here")
