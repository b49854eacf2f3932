# English pages show days as ISO dates (the program is international; SPEC §4 speaks ISO),
# other languages in their own short form (see Django's locale formats).
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
