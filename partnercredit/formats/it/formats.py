# Django's Italian formats, with a 24-hour clock in the short date-time form too.
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
