"""Reference-phase CIF files (data only); see README.md in this folder for their sources."""
