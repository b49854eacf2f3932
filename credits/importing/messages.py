"""The reasons a row is refused, in one place for the event rows and the activity rows.

Each is the `reason` of a RowError, reported as `line N: column: reason`. A partner admin's
upload is told the same thing whether another partner's key, e-mail or hub id exists or not.
"""

from accounts.services import no_access_message


def required(event: str) -> str:
    return f"required for {event}"


def no_column(event: str) -> str:
    return f"required for {event} (no such column)"


def unknown_partner(key: str) -> str:
    return f"unknown partner {key!r}"


def not_your_partner(key: str) -> str:
    """A partner admin names another partner (whether it exists is not said)."""
    return f"{key} is not your partner: you may import only its own activities"


def unknown_employee(email: str, partner_key: str) -> str:
    """Also when the e-mail belongs to another partner's employee: that is not said."""
    return f"unknown employee {email!r} of partner {partner_key}"


def unknown_client(hub_id: str) -> str:
    return f"unknown client {hub_id!r}"


def no_client_access(hub_id: str) -> str:
    """To a partner admin: the same for a hub id that does not exist and one not open to them."""
    return no_access_message(hub_id)


def repeated_ref(ref: str, first_line: int) -> str:
    return f"{ref!r} is also used on line {first_line} of this file"


def too_long(max_length: int) -> str:
    return f"longer than {max_length} characters"


NUL = "contains a NUL character"


def bad_moment(text: str, why: str) -> str:
    return f"{text!r} is not a valid ISO date or datetime ({why})"


def unknown_event(event: str) -> str:
    return f"unknown event {event!r}"


def refused(event: str, messages: list[str]) -> str:
    """A rule of the access services refused the change."""
    return f"{event} refused: {'; '.join(messages)}"


def activities_only(event: str) -> str:
    return f"{event}: a partner admin may import only activity rows"


def width(fields: int, header: int) -> str:
    return f"has {fields} fields; the header has {header}"
