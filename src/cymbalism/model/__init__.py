"""Pure data types of cymbalism: lanes, tempo maps, charts, hits and sessions (numpy only)."""
