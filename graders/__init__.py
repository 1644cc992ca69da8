"""Pure graders: ``(response, item fields) -> Grade``. No I/O, no network."""
