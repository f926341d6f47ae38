"""Pure functions on bytes and paths: no Flask, no database."""
