"""The daemon's place in the system: XDG paths, sd_notify, the user unit, metrics, fault logs."""
