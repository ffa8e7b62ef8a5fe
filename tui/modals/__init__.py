"""Modal screens: edit forms (each returns its result through `dismiss`), confirmations, help, presets."""
