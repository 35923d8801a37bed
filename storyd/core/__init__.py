"""The pure core: no trio, no I/O, time passed in. Everything that decides lives here."""
